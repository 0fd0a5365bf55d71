import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { JOBS_BY_TIME_INDEX } from '../core/records.js';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { atomicObjects, multipartRules } from './s3-fidelity.js';
import { isPresigned, presignedRefusal } from './presigned.js';

/** s3rver's one account: what every local component signs with. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface StandIns {
  dynamoEndpoint: string;
  s3Endpoint: string;
  /** Object bytes sent to S3 (PUT bodies, upload parts) and read from it (GET bodies) so far: what staging moves. */
  s3Traffic: { up: number; down: number };
  stop(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

const KEYS = [
  { AttributeName: 'tenant', KeyType: 'HASH' as const },
  { AttributeName: 'jobId', KeyType: 'RANGE' as const },
];
const BY_TIME = {
  IndexName: JOBS_BY_TIME_INDEX,
  KeySchema: [
    { AttributeName: 'tenant', KeyType: 'HASH' as const },
    { AttributeName: 'createdAt', KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'ALL' as const },
};
const ATTRIBUTES = [
  { AttributeName: 'tenant', AttributeType: 'S' as const },
  { AttributeName: 'jobId', AttributeType: 'S' as const },
  { AttributeName: 'createdAt', AttributeType: 'S' as const },
];

/** The local jobs table's keys, attributes and index (a test holds them equal to the CDK table's). */
export const JOBS_TABLE_SHAPE = { KeySchema: KEYS, AttributeDefinitions: ATTRIBUTES, GlobalSecondaryIndexes: [BY_TIME] };

/** The jobs table as cdk/ defines it (tenant + jobId, and the by-time index); older data dirs get the index added. */
async function ensureTable(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    if (!Table?.GlobalSecondaryIndexes?.some((i) => i.IndexName === JOBS_BY_TIME_INDEX)) {
      await client.send(
        new UpdateTableCommand({ TableName: table, AttributeDefinitions: ATTRIBUTES, GlobalSecondaryIndexUpdates: [{ Create: BY_TIME }] }),
      );
    }
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ATTRIBUTES,
        KeySchema: KEYS,
        GlobalSecondaryIndexes: [BY_TIME],
      }),
    );
  } finally {
    client.destroy();
  }
}

/** Embedded DynamoDB (dynalite) and S3 (s3rver) on loopback, their data on disk under `dataDir`. */
export async function startStandIns(dataDir: string, table: string, buckets: string[]): Promise<StandIns> {
  await mkdir(join(dataDir, 's3'), { recursive: true });
  const dynamo = dynalite({ path: join(dataDir, 'dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoPort = await listen(dynamo);
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(dataDir, 's3'),
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  atomicObjects(s3.store);
  s3.middleware.unshift(multipartRules(join(dataDir, 's3')));
  // First in s3rver's Koa stack: a presigned request S3 would refuse is refused before s3rver reads its body.
  s3.middleware.unshift(async (ctx, next) => {
    const refusal = isPresigned(ctx.req) ? presignedRefusal(ctx.req, { [LOCAL_S3_CREDENTIALS.accessKeyId]: LOCAL_S3_CREDENTIALS.secretAccessKey }) : undefined;
    if (!refusal) return next();
    ctx.status = 403;
    ctx.set('connection', 'close');
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message></Error>`;
  });
  const s3Traffic = { up: 0, down: 0 };
  // Counted from the declared lengths, never by reading the bodies, which are s3rver's to read.
  s3.middleware.unshift(async (ctx, next) => {
    const sent = Number(ctx.get('x-amz-decoded-content-length') || ctx.get('content-length') || 0);
    await next();
    // Object requests only (`/bucket/key`): listings and bucket calls move no object's bytes.
    if (ctx.path.split('/').filter(Boolean).length < 2) return;
    if (ctx.method === 'PUT' || ctx.method === 'POST') s3Traffic.up += sent;
    if (ctx.method === 'GET' && ctx.status < 300) s3Traffic.down += ctx.response.length ?? 0;
  });
  const s3Address = await s3.run();
  const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
  await ensureTable(dynamoEndpoint, table);
  return {
    dynamoEndpoint,
    s3Endpoint: `http://127.0.0.1:${s3Address.port}`,
    s3Traffic,
    async stop() {
      await s3.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}
