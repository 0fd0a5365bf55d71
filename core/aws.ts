import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from './config.js';

/** The AWS clients of one component, built once at its entry and passed to what needs them. */
export interface Clients {
  readonly s3: S3Client;
  readonly db: DynamoDBDocumentClient;
  readonly sfn: SFNClient;
  readonly sqs: SQSClient;
}

/** Where a client's requests go: AWS, unless the component's environment names an endpoint (`AWS_ENDPOINT_URL_<SERVICE>`). */
export type Endpoints = Partial<Record<'s3' | 'dynamodb' | 'sfn' | 'sqs' | 'secretsmanager' | 'transcribe', string>>;

/** The standard endpoint variables of an environment (the SDK would read them from process.env; a component's own wins). */
export function endpointsOf(env: Record<string, string | undefined>): Endpoints {
  const pick = (service: string) => env[`AWS_ENDPOINT_URL_${service}`];
  return {
    s3: pick('S3'),
    dynamodb: pick('DYNAMODB'),
    sfn: pick('SFN'),
    sqs: pick('SQS'),
    secretsmanager: pick('SECRETS_MANAGER'),
    transcribe: pick('TRANSCRIBE'),
  };
}

/** Static credentials when the environment carries them (the local runtime's stand-ins); else the SDK's own chain. */
export function credentialsOf(env: Record<string, string | undefined>) {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken } : undefined;
}

export function createClients(config: Config, endpoints: Endpoints = {}, credentials = credentialsOf({})): Clients {
  const region = config.AWS_REGION;
  const s3 = new S3Client({
    region,
    credentials,
    endpoint: endpoints.s3,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    // Checksums only when an API requires them: streamed uploads stay single-pass.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region, credentials, endpoint: endpoints.dynamodb }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { s3, db, sfn: new SFNClient({ region, credentials, endpoint: endpoints.sfn }), sqs: new SQSClient({ region, credentials, endpoint: endpoints.sqs }) };
}

export function destroyClients(clients: Clients): void {
  clients.s3.destroy();
  clients.db.destroy();
  clients.sfn.destroy();
  clients.sqs.destroy();
}
