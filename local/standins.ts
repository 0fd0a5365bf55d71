import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';

export interface StandIns {
  dynamoEndpoint: string;
  s3Endpoint: string;
  stop(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** The jobs table, as cdk/ defines it: tenant + jobId. */
async function ensureTable(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    await client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'tenant', AttributeType: 'S' },
          { AttributeName: 'jobId', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'tenant', KeyType: 'HASH' },
          { AttributeName: 'jobId', KeyType: 'RANGE' },
        ],
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
  const s3Address = await s3.run();
  const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
  await ensureTable(dynamoEndpoint, table);
  return {
    dynamoEndpoint,
    s3Endpoint: `http://127.0.0.1:${s3Address.port}`,
    async stop() {
      await s3.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}
