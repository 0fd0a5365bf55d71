import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from './config.js';

// Endpoints come from the standard AWS_ENDPOINT_URL_<SERVICE> variables, which the SDK reads itself.
let s3: S3Client | undefined;
let ddb: DynamoDBDocumentClient | undefined;
let sfn: SFNClient | undefined;

export function s3Client(): S3Client {
  const config = loadConfig();
  s3 ??= new S3Client({
    region: config.AWS_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    // Checksums only when an API requires them: streamed uploads stay single-pass.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3;
}

export function dynamoClient(): DynamoDBDocumentClient {
  ddb ??= DynamoDBDocumentClient.from(new DynamoDBClient({ region: loadConfig().AWS_REGION }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return ddb;
}

export function sfnClient(): SFNClient {
  sfn ??= new SFNClient({ region: loadConfig().AWS_REGION });
  return sfn;
}

/** Drops the clients so the next call builds them from the current environment (local runtime start). */
export function resetClients(): void {
  s3?.destroy();
  ddb?.destroy();
  sfn?.destroy();
  s3 = ddb = sfn = undefined;
}
