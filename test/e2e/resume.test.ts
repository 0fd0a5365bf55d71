import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { s3Client } from '../../core/aws.js';
import { PART_BYTES } from '../../containers/media-worker/steps/download.js';
import { LocalRuntime } from '../../local/runtime.js';
import { makeClip } from '../fixtures/media.js';
import { startServer, type TestServer } from '../fixtures/server.js';

let dir: string;
let runtime: LocalRuntime;
let server: TestServer;
let clip: string;
let bytes: Buffer;
/** Every range request the workers' own downloads made (ffprobe's are left out): when, from which byte, how much sent. */
const served: Array<{ path: string; at: number; start: number; sent: number }> = [];

/** Serves `bytes` with ranges at ~4 MB/s per connection; `cutAfter` ends each response after that many bytes. */
function throttled(cutAfter?: number) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Number(m[2]) : bytes.length - 1;
    const headers = { 'content-type': 'video/mp4', 'content-length': end - start + 1, 'accept-ranges': 'bytes', ...(m ? { 'content-range': `bytes ${start}-${end}/${bytes.length}` } : {}) };
    res.writeHead(m ? 206 : 200, headers);
    const entry = { path: new URL(req.url!, 'http://x').pathname, at: Date.now(), start, sent: 0 };
    if (!String(req.headers['user-agent']).startsWith('Lavf') && req.headers.range !== 'bytes=0-4095') served.push(entry);
    let at = start;
    const pump = () => {
      if (res.destroyed) return;
      if (at > end) return void res.end();
      if (cutAfter !== undefined && entry.sent >= cutAfter) return void res.destroy();
      const chunk = bytes.subarray(at, Math.min(end + 1, at + 128 * 1024));
      at += chunk.length;
      entry.sent += chunk.length;
      res.write(chunk);
      setTimeout(pump, 30);
    };
    pump();
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-resume-'));
  clip = makeClip(join(dir, 'media'), 'big.mp4', { seconds: 40, width: 1280, height: 720 });
  bytes = readFileSync(clip);
  server = await startServer({ '/big.mp4': { handler: throttled() }, '/cut.mp4': { handler: throttled(1024 * 1024) } });
  runtime = await LocalRuntime.start({ dataDir: join(dir, 'data'), allowHosts: ['127.0.0.1'] });
});

afterAll(async () => {
  await runtime?.stop();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('resumable direct downloads', () => {
  it('the fixture is big enough for several parts', () => {
    expect(statSync(clip).size).toBeGreaterThan(3 * PART_BYTES);
  });

  it('after the worker is killed mid-download, the retry refetches no finished part and the result is byte-identical', async () => {
    const jobId = await runtime.submit({ source: { type: 'http', url: server.url('/big.mp4') } }, 2);
    const prefix = `staging/local/${jobId}/parts/`;
    let kept: number[] = [];
    for (let i = 0; i < 300 && kept.length < 2; i++) {
      await sleep(50);
      const page = await s3Client().send(new ListObjectsV2Command({ Bucket: runtime.config.STAGING_BUCKET!, Prefix: prefix }));
      kept = (page.Contents ?? []).map((o) => Number(o.Key!.slice(prefix.length)));
    }
    expect(kept.length).toBeGreaterThanOrEqual(2);
    const killedAt = Date.now();
    const pids = execFileSync('pgrep', ['-P', String(process.pid), '-f', 'media-worker/main.ts']).toString().trim().split('\n');
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');

    const record = await runtime.finish(jobId);
    expect(record.status).toBe('SUCCEEDED');
    expect(record.checkpoints.extract).toMatchObject({ bytes: bytes.length, source: { sha256: sha256(bytes) } });
    const after = served.filter((s) => s.path === '/big.mp4' && s.at > killedAt).map((s) => s.start);
    expect(after.length).toBeGreaterThan(0);
    for (const index of kept) expect(after).not.toContain(index * PART_BYTES);
    // The parts are gone once the download is whole.
    const left = await s3Client().send(new ListObjectsV2Command({ Bucket: runtime.config.STAGING_BUCKET!, Prefix: prefix }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('survives a server that cuts every response part-way, fetching little more than the file', async () => {
    const record = await runtime.finish(await runtime.submit({ source: { type: 'http', url: server.url('/cut.mp4') } }, 4));
    expect(record.status).toBe('SUCCEEDED');
    expect(record.checkpoints.extract).toMatchObject({ bytes: bytes.length, source: { sha256: sha256(bytes) } });
    const sent = served.filter((s) => s.path === '/cut.mp4').reduce((n, s) => n + s.sent, 0);
    expect(sent).toBeGreaterThanOrEqual(bytes.length);
    expect(sent).toBeLessThan(bytes.length * 1.05);
  });
});
