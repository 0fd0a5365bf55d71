import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { serveRange, type TestServer } from '../fixtures/server.js';

// Unique per run, so a hit can only come from this test's job.
const PASSWORD = `pw${randomBytes(12).toString('hex')}`;
const SIGNATURE = `sig${randomBytes(16).toString('hex')}`;
const TOKEN = `tok${randomBytes(16).toString('hex')}`;
const CALLBACK_TOKEN = `cbt${randomBytes(16).toString('hex')}`;
const MISSING_PASSWORD = `mpw${randomBytes(12).toString('hex')}`;
const SECRETS = [PASSWORD, SIGNATURE, TOKEN, CALLBACK_TOKEN, MISSING_PASSWORD];

let server: TestServer;
const seen: Array<{ url: string }> = [];
const callbacks: string[] = [];

const fx = withRuntime('secrets', {
  env: {
    MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: '127.0.0.1',
    MEDIA_INGEST_CALLBACK_SECRET: 'secrets-test-callback-secret-0123',
  },
  runtime: { retryIntervalMs: 50 },
  setup: async ({ dir, serve }) => {
    const clip = makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2 });
    server = await serve({
      // Ignores the query (as a CDN checking nothing would), records what the fetcher really sent.
      '/clip.mp4': {
        handler: (req, res) => {
          seen.push({ url: req.url ?? '' });
          serveRange(req, res, clip);
        },
      },
      '/hook': {
        receive: (body, req, res) => {
          seen.push({ url: req.url ?? '' });
          callbacks.push(body.toString('utf8'));
          res.writeHead(200).end();
        },
      },
    });
  },
});

/** Every file under a folder, recursively. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function secretsIn(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

describe('secrets in source and callback URLs', () => {
  let jobId: string;
  let failedId: string;

  beforeAll(async () => {
    const port = server.port;
    jobId = await fx.runtime.submit({
      source: { type: 'http', url: `http://127.0.0.1:${port}/clip.mp4?X-Amz-Signature=${SIGNATURE}&token=${TOKEN}&password=${PASSWORD}&quality=hd` },
      callback_url: `http://127.0.0.1:${port}/hook?token=${CALLBACK_TOKEN}`,
    });
    failedId = await fx.runtime.submit({
      source: { type: 'http', url: `http://127.0.0.1:${port}/missing.mp4?Signature=${SIGNATURE}&pwd=${MISSING_PASSWORD}` },
      callback_url: `http://127.0.0.1:${port}/hook?token=${CALLBACK_TOKEN}`,
    });
    await fx.runtime.finish(jobId);
    await fx.runtime.finish(failedId);
  });

  it('runs the job to SUCCEEDED, the fetch using the real URL: its signed query reaches the server', async () => {
    const record = (await fx.runtime.job(jobId))!;
    expect(record.error).toBeNull();
    expect(record.status).toBe('SUCCEEDED');
    const fetched = seen.filter((s) => s.url.startsWith('/clip.mp4'));
    expect(fetched.length).toBeGreaterThan(0);
    expect(fetched.some((s) => s.url.includes(SIGNATURE) && s.url.includes(TOKEN) && s.url.includes(PASSWORD))).toBe(true);
  });

  it('stores and shows only the redacted URLs, keeping what is not secret', async () => {
    const record = (await fx.runtime.job(jobId))!;
    expect(record.request.source.url).toBe(`http://127.0.0.1:${server.port}/clip.mp4?X-Amz-Signature=REDACTED&token=REDACTED&password=REDACTED&quality=hd`);
    expect(record.request.callback_url).toBe(`http://127.0.0.1:${server.port}/hook?token=REDACTED`);
    expect(secretsIn(JSON.stringify(record))).toEqual([]);
  });

  it('calls back with the real callback URL, and the record it posts holds no secret', () => {
    expect(callbacks.length).toBe(2);
    expect(seen.filter((s) => s.url === `/hook?token=${CALLBACK_TOKEN}`).length).toBe(2);
    for (const body of callbacks) expect(secretsIn(body)).toEqual([]);
  });

  it('fails a source that 404s as SourceNotFound with no password or signature in the error', async () => {
    const record = (await fx.runtime.job(failedId))!;
    expect(record).toMatchObject({ status: 'FAILED', error: { code: 'SourceNotFound' } });
    expect(secretsIn(JSON.stringify(record))).toEqual([]);
  });

  it('leaves no secret in any file of the data directory: S3 objects, metadata.json, manifest.json, DynamoDB, executions, logs', async () => {
    const files = await filesUnder(fx.runtime.dataDir);
    const names = files.map((f) => f.slice(fx.runtime.dataDir.length));
    // The scan covers what the job wrote.
    for (const part of ['metadata.json', 'manifest.json', `/executions/`, '/dynamodb/', '/logs/']) {
      expect(names.some((n) => n.includes(part))).toBe(true);
    }
    const leaks: string[] = [];
    for (const file of files) {
      const text = (await readFile(file)).toString('latin1');
      if (secretsIn(text).length) leaks.push(`${file}: ${secretsIn(text).join(', ')}`);
    }
    expect(leaks).toEqual([]);
  });
});
