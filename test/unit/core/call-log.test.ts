import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CopyObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { StartTranscriptionJobCommand, TranscribeClient } from '@aws-sdk/client-transcribe';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCallLog, recordCalls, type RecordedCall } from '../../../core/call-log.js';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

/** Answers every request itself, before anything goes on the wire. */
function offline<C extends { middlewareStack: { add(mw: unknown, options: object): void } }>(client: C): C {
  client.middlewareStack.add(() => async () => ({ output: { UploadId: 'u1', ETag: '"e"', $metadata: {} }, response: {} }), { step: 'build', name: 'offline' });
  return client;
}

describe('recordCalls', () => {
  it('records S3 commands as IAM actions on bucket and key, a copy also as a read of its source', async () => {
    const calls: RecordedCall[] = [];
    const s3 = offline(recordCalls(new S3Client(config), 'publish', (c) => calls.push(c)));
    await s3.send(new HeadObjectCommand({ Bucket: 'staging', Key: 'staging/t/j/source.mp4' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'artifacts', Key: 'tenants/t/jobs/j/source.mp4', CopySource: 'staging/staging/t/j/a%20b.mp4' }));
    await s3.send(new ListObjectsV2Command({ Bucket: 'staging', Prefix: 'staging/t/j/' }));
    expect(calls).toEqual([
      { component: 'publish', service: 's3', action: 's3:GetObject', resource: { bucket: 'staging', key: 'staging/t/j/source.mp4' }, command: 'HeadObject' },
      { component: 'publish', service: 's3', action: 's3:PutObject', resource: { bucket: 'artifacts', key: 'tenants/t/jobs/j/source.mp4' }, command: 'CopyObject' },
      { component: 'publish', service: 's3', action: 's3:GetObject', resource: { bucket: 'staging', key: 'staging/t/j/a b.mp4' }, command: 'CopyObject' },
      { component: 'publish', service: 's3', action: 's3:ListBucket', resource: { bucket: 'staging', prefix: 'staging/t/j/' }, command: 'ListObjectsV2' },
    ]);
  });

  it('records a multipart upload as s3:PutObject, and a presigned PUT (the role behind the URL)', async () => {
    const calls: RecordedCall[] = [];
    const s3 = offline(recordCalls(new S3Client(config), 'worker', (c) => calls.push(c)));
    await new Upload({ client: s3, params: { Bucket: 'staging', Key: 'staging/t/j/original', Body: Buffer.alloc(6 * 1024 * 1024) }, partSize: 5 * 1024 * 1024 }).done();
    expect(calls.map((c) => `${c.action} ${c.command}`)).toEqual([
      's3:PutObject CreateMultipartUpload',
      's3:PutObject UploadPart',
      's3:PutObject UploadPart',
      's3:PutObject CompleteMultipartUpload',
    ]);
    const presigner = recordCalls(new S3Client(config), 'create-upload', (c) => calls.push(c));
    await getSignedUrl(presigner, new PutObjectCommand({ Bucket: 'staging', Key: 'uploads/t/u/talk.mp4' }));
    expect(calls.at(-1)).toMatchObject({ component: 'create-upload', action: 's3:PutObject', resource: { bucket: 'staging', key: 'uploads/t/u/talk.mp4' } });
  });

  it('records DynamoDB document-client, SFN, Secrets Manager and Transcribe commands into a JSON-lines file', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'call-log-')), 'calls.jsonl');
    const ddb = offline(recordCalls(DynamoDBDocumentClient.from(new DynamoDBClient(config)), 'notify', log));
    await ddb.send(new GetCommand({ TableName: 'jobs', Key: { tenant: 't', jobId: 'j' } }));
    await ddb.send(new UpdateCommand({ TableName: 'jobs', Key: { tenant: 't', jobId: 'j' }, UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': 1 } }));
    await ddb.send(new QueryCommand({ TableName: 'jobs', IndexName: 'byCreatedAt', KeyConditionExpression: 'tenant = :t', ExpressionAttributeValues: { ':t': 't' } }));
    const sfn = offline(recordCalls(new SFNClient(config), 'start-job', log));
    await sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m', name: 'n', input: '{}' }));
    await sfn.send(new StopExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:m:n' }));
    await sfn.send(new SendTaskSuccessCommand({ taskToken: 'token', output: '{}' }));
    await offline(recordCalls(new SecretsManagerClient(config), 'notify', log)).send(new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:us-east-1:0:secret:cb' }));
    await offline(recordCalls(new TranscribeClient(config), 'worker', log)).send(
      new StartTranscriptionJobCommand({ TranscriptionJobName: 'media-ingest-1', Media: { MediaFileUri: 's3://staging/a.wav' }, OutputBucketName: 'staging' }),
    );
    expect(parseCallLog(readFileSync(log, 'utf8')).map(({ action, resource }) => ({ action, resource }))).toEqual([
      { action: 'dynamodb:GetItem', resource: { table: 'jobs' } },
      { action: 'dynamodb:UpdateItem', resource: { table: 'jobs' } },
      { action: 'dynamodb:Query', resource: { table: 'jobs', index: 'byCreatedAt' } },
      { action: 'states:StartExecution', resource: { stateMachine: 'arn:aws:states:us-east-1:000000000000:stateMachine:m' } },
      { action: 'states:StopExecution', resource: { execution: 'arn:aws:states:us-east-1:000000000000:execution:m:n' } },
      { action: 'states:SendTaskSuccess', resource: { stateMachine: '' } },
      { action: 'secretsmanager:GetSecretValue', resource: { secret: 'arn:aws:secretsmanager:us-east-1:0:secret:cb' } },
      { action: 'transcribe:StartTranscriptionJob', resource: { transcriptionJob: 'media-ingest-1', outputBucket: 'staging' } },
    ]);
  });
});
