import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_PARTITION, createQueued } from '../../core/records.js';
import { cleanup } from '../../lambdas/cleanup/cleanup.js';
import { LocalRuntime } from '../../local/runtime.js';
import { makeClip } from '../fixtures/media.js';
import { startServer, type TestServer } from '../fixtures/server.js';

let dir: string;
let runtime: LocalRuntime;
let media: TestServer;
const HOUR = 3_600_000;

const staged = async (prefix: string) =>
  (await runtime.s3.send(new ListObjectsV2Command({ Bucket: runtime.config.STAGING_BUCKET, Prefix: prefix }))).KeyCount ?? 0;
const setStatus = (jobId: string, status: string) =>
  runtime.operator.db.send(
    new UpdateCommand({
      TableName: runtime.config.JOBS_TABLE,
      Key: { tenant: 'local', jobId },
      UpdateExpression: 'SET #s = :s',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': status },
    }),
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-cleanup-'));
  media = await startServer({ '/clip.mp4': { file: makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 1 }) } });
  runtime = await LocalRuntime.start({ dataDir: join(dir, 'data'), allowHosts: ['127.0.0.1'] });
  for (const id of ['done', 'lost']) {
    await runtime.submit({ job_id: id, source: { type: 'http', url: media.url('/clip.mp4') } });
    await runtime.finish(id);
  }
  // "lost": its execution ended but the record still says RUNNING (as if RecordSucceeded never landed).
  await setStatus('lost', 'RUNNING');
  // "busy": a job still running, with data in staging.
  await createQueued({ db: runtime.operator.db, name: runtime.config.JOBS_TABLE }, { tenant: 'local', jobId: 'busy', request: { source: { type: 'http', url: 'http://x/a.mp4' }, actions: ['download'] }, options: { connections: 1 }, ttlDays: 1 });
  await setStatus('busy', 'RUNNING');
  for (const key of ['staging/local/busy/original', 'staging/local/orphan/original']) {
    await runtime.s3.send(new PutObjectCommand({ Bucket: runtime.config.STAGING_BUCKET, Key: key, Body: 'x'.repeat(100) }));
  }
});

afterAll(async () => {
  await runtime?.stop();
  await media?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the cleanup sweep', () => {
  it('within the retention: deletes nothing, and marks a job left RUNNING by an ended execution as FAILED', async () => {
    const report = await cleanup(runtime.deps('cleanup'), new Date());
    expect(report.deletedPrefixes).toEqual([]);
    expect(await staged('staging/local/done/')).toBeGreaterThan(0);
    expect(report.markedFailed).toEqual(['lost']);
    const lost = await runtime.job('lost');
    expect(lost).toMatchObject({ status: 'FAILED', error: { code: 'ExecutionEnded' } });
    expect(lost!.error!.message).toContain('SUCCEEDED');
    expect(await runtime.job('busy')).toMatchObject({ status: 'RUNNING' });
  });

  it('past the retention: deletes the staging of ended and unknown jobs, keeps running ones, and audits each action', async () => {
    const now = new Date(Date.now() + 25 * HOUR);
    const report = await cleanup(runtime.deps('cleanup'), now);
    expect(report.deletedPrefixes.map((d) => [d.prefix, d.reason]).sort()).toEqual([
      ['staging/local/done/', 'job SUCCEEDED'],
      ['staging/local/lost/', 'job FAILED'],
      ['staging/local/orphan/', 'no job record'],
    ]);
    expect(report.deletedPrefixes.find((d) => d.prefix === 'staging/local/done/')!.objects).toBeGreaterThanOrEqual(4);
    for (const prefix of ['done', 'lost', 'orphan']) expect(await staged(`staging/local/${prefix}/`)).toBe(0);
    expect(await staged('staging/local/busy/')).toBe(1);
    expect(report.markedFailed).toEqual([]);
    // s3rver cannot list multipart uploads; the sweep says so instead of failing.
    expect(report.uploadsSkipped).toContain('cannot list multipart uploads');

    const audit = await runtime.operator.db.send(
      new QueryCommand({ TableName: runtime.config.JOBS_TABLE, KeyConditionExpression: 'tenant = :a', ExpressionAttributeValues: { ':a': AUDIT_PARTITION } }),
    );
    const items = audit.Items ?? [];
    const deletions = items.filter((i) => i.action === 'delete-staging');
    expect(deletions.map((i) => i.prefix).sort()).toEqual(['staging/local/done/', 'staging/local/lost/', 'staging/local/orphan/']);
    for (const d of deletions) expect(d).toMatchObject({ objects: expect.any(Number), bytes: expect.any(Number), at: now.toISOString() });
    expect(items.filter((i) => i.action === 'mark-failed').map((i) => i.jobId)).toEqual(['lost']);
  });
});
