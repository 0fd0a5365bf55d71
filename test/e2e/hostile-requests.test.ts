import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { JobRecord } from '../../core/job.js';
import { startApiServer } from '../../local/api-server.js';
import { everyJob, itEndsEveryJobWithAStableCode, unstableCodes } from '../fixtures/contract.js';
import { ff, makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { folderRoutes, type TestServer } from '../fixtures/server.js';

let dir: string;
let origin: TestServer;
let api: { server: Server; url: string };
const PASSWORD = `s3cret${process.pid}x${Date.now()}`;

const fx = withRuntime('hostile-requests', {
  runtime: { retryIntervalMs: 50 },
  setup: async (scratch) => {
    dir = scratch.dir;
    const clip = makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2 });
    // An AES-128 HLS rendition; the same segments behind a 17-byte key and behind a wrong 16-byte key.
    mkdirSync(join(dir, 'aes'));
    writeFileSync(join(dir, 'aes', 'k.key'), Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
    writeFileSync(join(dir, 'keyinfo'), `k.key\n${join(dir, 'aes', 'k.key')}\n`);
    ff('-i', clip, '-c', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod', '-hls_key_info_file', join(dir, 'keyinfo'),
      '-hls_segment_filename', join(dir, 'aes', 'seg%03d.ts'), join(dir, 'aes', 'index.m3u8'));
    const playlist = readFileSync(join(dir, 'aes', 'index.m3u8'), 'utf8');
    const withKey = (uri: string) => ({ status: 200, contentType: 'application/vnd.apple.mpegurl', body: playlist.replaceAll('URI="k.key"', `URI="${uri}"`) });
    origin = await scratch.serve({
      '/clip.mp4': { file: clip },
      ...folderRoutes(dir, 'aes'),
      '/aes/short.m3u8': withKey('short.key'),
      '/aes/wrong.m3u8': withKey('wrong.key'),
      '/aes/short.key': { status: 200, contentType: 'application/octet-stream', body: 'x'.repeat(17) },
      '/aes/wrong.key': { status: 200, contentType: 'application/octet-stream', body: 'y'.repeat(16) },
    });
    scratch.atEnd(() => new Promise((resolve) => api?.server.close(resolve)));
  },
});

beforeAll(async () => {
  api = await startApiServer(0, fx.runtime);
});

const post = (body: unknown) => fetch(`${api.url}/jobs`, { method: 'POST', body: JSON.stringify(body) });
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function run(body: Record<string, unknown>): Promise<JobRecord> {
  return fx.runtime.finish(await fx.runtime.submit(body));
}

/** Every file under the data directory (S3 objects, DynamoDB, execution histories, logs) that holds `text`. */
async function filesHolding(text: string): Promise<string[]> {
  const entries = await readdir(fx.runtime.dataDir, { withFileTypes: true, recursive: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const holding: string[] = [];
  for (const file of files) if ((await readFile(file)).toString('latin1').includes(text)) holding.push(file);
  return holding;
}

describe('credentials in a source URL', () => {
  it('refuses userinfo at POST with 400 InvalidRequest, records nothing and echoes the password nowhere', async () => {
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (written.push(String(chunk)), write(chunk, ...rest))) as typeof process.stdout.write;
    let res: Response;
    try {
      res = await post({ job_id: 'with-userinfo', source: { type: 'http', url: `http://alice:${PASSWORD}@127.0.0.1:${origin.port}/clip.mp4` } });
    } finally {
      process.stdout.write = write;
    }
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'InvalidRequest', message: expect.stringContaining('source.url: must not carry credentials') } });
    expect(text).not.toContain(PASSWORD);
    expect(written.join('')).not.toContain(PASSWORD);
    expect((await fetch(`${api.url}/jobs/with-userinfo`)).status).toBe(404);
    expect(origin.hits.get('/clip.mp4')).toBeUndefined();
    expect(await filesHolding(PASSWORD)).toEqual([]);
  });
});

describe('AES-128 keys that do not decrypt', () => {
  it('runs the well-keyed rendition to SUCCEEDED (the fixture is sound)', async () => {
    expect(await run({ source: { type: 'http', url: origin.url('/aes/index.m3u8') } })).toMatchObject({ status: 'SUCCEEDED', error: null });
  });

  it('fails a 17-byte key with UnsupportedSource, saying how long it is', async () => {
    const record = await run({ source: { type: 'http', url: origin.url('/aes/short.m3u8') } });
    expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'UnsupportedSource' } });
    expect(record.error!.message).toContain('is 17 bytes; AES-128 needs 16');
  });

  it('fails a wrong key with ExtractionFailed', async () => {
    const record = await run({ source: { type: 'http', url: origin.url('/aes/wrong.m3u8') } });
    expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'ExtractionFailed' } });
    expect(record.error!.message).toContain('does not decrypt');
  });
});

describe('storage_path', () => {
  it.each([
    ['one folder name of 300 characters', 'a'.repeat(300), 'folder name is 300 bytes; at most 255'],
    ['keys past S3\'s 1,024 bytes', Array.from({ length: 5 }, () => 'é'.repeat(100)).join('/'), 'S3 allows 1024'],
  ])('refuses %s at POST with 400 InvalidRequest, recording nothing', async (_what, storagePath, says) => {
    const jobId = `long-path-${storagePath.length}`;
    const res = await post({ job_id: jobId, source: { type: 'http', url: origin.url('/clip.mp4') }, storage_path: storagePath });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'InvalidRequest', message: expect.stringContaining(says) } });
    expect(await fx.runtime.job(jobId)).toBeUndefined();
  });

  it('publishes under a folder name of 255 bytes, the longest allowed', async () => {
    const record = await run({ source: { type: 'http', url: origin.url('/clip.mp4') }, storage_path: 'b'.repeat(255) });
    expect(record.status).toBe('SUCCEEDED');
    expect(record.artifacts.map((a) => a.key)).toContain(`tenants/local/${'b'.repeat(255)}/${record.jobId}/manifest.json`);
  });

  it('cannot overwrite another job: B with storage_path jobs/<A> publishes beside A, and A\'s sha256 values stay true', async () => {
    const a = await run({ source: { type: 'http', url: origin.url('/clip.mp4') } });
    const b = await run({ source: { type: 'http', url: origin.url('/aes/index.m3u8') }, storage_path: `jobs/${a.jobId}` });
    expect([a.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    for (const artifact of b.artifacts) expect(artifact.key.startsWith(`tenants/local/jobs/${a.jobId}/${b.jobId}/`)).toBe(true);
    const out = join(dir, 'a-after-b');
    const files = await fx.runtime.download(a, out);
    expect(files).toHaveLength(a.artifacts.length);
    for (const artifact of a.artifacts) expect({ name: artifact.name, sha256: sha256(readFileSync(join(out, artifact.name))) }).toEqual({ name: artifact.name, sha256: artifact.sha256 });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { jobId: string };
    expect(manifest.jobId).toBe(a.jobId);
  });
});

describe('GET /jobs page tokens', () => {
  const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it.each([
    ['not base64 JSON', 'bogus'],
    ['JSON null', token(null)],
    ['a key without its index part', token({ tenant: 'local', jobId: 'x' })],
    ['an empty key part', token({ tenant: 'local', jobId: '', createdAt: '2024-01-01' })],
    ['a key part that is not a string', token({ tenant: 'local', jobId: { S: 'x' }, createdAt: '2024-01-01' })],
    ['an oversized key part', token({ tenant: 'local', jobId: 'j'.repeat(2000), createdAt: '2024-01-01' })],
    ['an extra attribute', token({ tenant: 'local', jobId: 'x', createdAt: '2024-01-01', status: 'FAILED' })],
    ['another tenant\'s key', token({ tenant: 'other', jobId: 'x', createdAt: '2024-01-01' })],
  ])('answers a forged token (%s) with 400 InvalidRequest', async (_what, next) => {
    const res = await fetch(`${api.url}/jobs?next=${encodeURIComponent(next)}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'InvalidRequest', message: 'next: not a token this API gave out' } });
  });

  it('pages with the tokens it gives out', async () => {
    const first = (await (await fetch(`${api.url}/jobs?limit=1`)).json()) as { jobs: JobRecord[]; next: string };
    const second = (await (await fetch(`${api.url}/jobs?limit=1&next=${first.next}`)).json()) as { jobs: JobRecord[] };
    expect(second.jobs).toHaveLength(1);
    expect(second.jobs[0]!.jobId).not.toBe(first.jobs[0]!.jobId);
    expect((await everyJob(fx.runtime)).length).toBeGreaterThan(2);
  });
});

describe('the small ones', () => {
  it.each(['1e1', '0x10', ' 5', '5.0', '-1'])('answers limit=%s with 400: decimal digits only', async (limit) => {
    const res = await fetch(`${api.url}/jobs?limit=${encodeURIComponent(limit)}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'InvalidRequest', message: expect.stringContaining('limit') } });
  });

  it('URL-decodes a path id as API Gateway does: /jobs/key%2D34 is the job key-34', async () => {
    await fx.runtime.finish(await fx.runtime.submit({ job_id: 'key-34', source: { type: 'http', url: origin.url('/clip.mp4') } }));
    const res = await fetch(`${api.url}/jobs/key%2D34`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ jobId: 'key-34' });
    expect((await fetch(`${api.url}/jobs/%E0%A4%A`)).status).toBe(400);
  });
});

describe('the stable-code contract', () => {
  it('names a job whose error code is outside ERROR_CODES (the check can fail)', () => {
    const record = { jobId: 'j', error: { code: 'RangeError', message: 'Invalid key length' } } as JobRecord;
    expect(unstableCodes([record, { ...record, jobId: 'k', error: { code: 'TooLarge', message: '' } }, { ...record, error: null }])).toEqual(['j: RangeError']);
  });

  itEndsEveryJobWithAStableCode(() => fx.runtime);
});
