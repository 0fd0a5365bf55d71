import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { partSize } from '../../containers/media-worker/sources/direct.js';
import { hls, makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { isProbe, type Route, serveRange, type Served, type TestServer } from '../fixtures/server.js';

let server: TestServer;
let clip: string;
let bytes: Buffer;
/** A second version of `/changing.mp4`, served once `changed` is set. */
let other: Buffer;
let changed = false;
/** Every range request the workers' own downloads made (probes are left out): when, from which byte, how much sent. */
const served: Array<Served & { path: string; at: number }> = [];
/** Every HLS segment request: which segment, when. */
const segmentRequests: Array<{ name: string; at: number }> = [];
/** Lets `/held/`'s last segment be served: until then the job's progress stays mid-way, however slow the machine. */
let releaseLast = () => {};
const lastReleased = new Promise<void>((resolve) => (releaseLast = resolve));

/** Serves a file with ranges at ~4 MB/s per connection, as `version` gives it at each request; `cutAfter` ends each response after that many bytes. */
function throttled(cutAfter?: number, version: () => { data: Buffer; etag?: string } = () => ({ data: bytes })): Route {
  return {
    handler: (req, res) => {
      const { data, etag } = version();
      const response = serveRange(req, res, data, { etag, rate: 4_000_000, cutAfter });
      if (!isProbe(req, 'bytes=0-0')) served.push(Object.assign(response, { path: new URL(req.url!, 'http://x').pathname, at: Date.now() }));
    },
  };
}

const fx = withRuntime('resume', {
  // A short claim: a lost worker's step comes back soon, and a cancel reaches its worker within seconds.
  runtime: { settings: { visibilityTimeoutSeconds: 5 } },
  setup: async ({ dir, serve }) => {
    clip = makeClip(join(dir, 'media'), 'big.mp4', { seconds: 40, width: 1280, height: 720 });
    bytes = readFileSync(clip);
    // The same clip as an HLS playlist of 2-second segments, each answered after a delay (so a worker can be killed mid-way).
    const playlist = join(dir, 'hls');
    hls(clip, playlist, [], 2);
    const segments: Record<string, Route> = Object.fromEntries(
      readdirSync(playlist).map((f) => [
        `/hls/${f}`,
        f.endsWith('.ts')
          ? { handler: (req: IncomingMessage, res: ServerResponse) => { segmentRequests.push({ name: f, at: Date.now() }); serveRange(req, res, join(playlist, f), { latencyMs: 400 }); } }
          : { file: join(playlist, f), contentType: 'application/vnd.apple.mpegurl' },
      ]),
    );
    // The same playlist under /held/, its last segment answered only once the test releases it.
    const last = readdirSync(playlist).filter((f) => f.endsWith('.ts')).sort().at(-1)!;
    const held: Record<string, Route> = Object.fromEntries(
      readdirSync(playlist).map((f) => [
        `/held/${f}`,
        f === last
          ? { handler: (req: IncomingMessage, res: ServerResponse) => void lastReleased.then(() => serveRange(req, res, join(playlist, f))) }
          : { file: join(playlist, f), contentType: f.endsWith('.ts') ? 'video/mp2t' : 'application/vnd.apple.mpegurl' },
      ]),
    );
    other = readFileSync(makeClip(join(dir, 'media'), 'other.mp4', { seconds: 30, width: 1280, height: 720 }));
    const changing = () => (changed ? { data: other, etag: '"v2"' } : { data: bytes, etag: '"v1"' });
    server = await serve({ '/big.mp4': throttled(), '/changing.mp4': throttled(undefined, changing), '/cut.mp4': throttled(1024 * 1024), ...segments, ...held });
  },
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The pieces (ranges, segments) the job's staged uploads hold, by the part lists extract keeps under `parts/`. */
async function uploadedPieces(jobId: string): Promise<{ parts: number; pieces: number[] }> {
  const { s3, config } = fx.runtime;
  const page = await s3.send(new ListObjectsV2Command({ Bucket: config.STAGING_BUCKET, Prefix: `staging/local/${jobId}/parts/` }));
  const lists = await Promise.all(
    (page.Contents ?? []).map(async (o) => {
      const out = await s3.send(new GetObjectCommand({ Bucket: config.STAGING_BUCKET, Key: o.Key! })).catch(() => undefined);
      return JSON.parse((await out?.Body?.transformToString()) ?? '{"parts":[]}') as { parts: Array<{ first: number; last: number }> };
    }),
  );
  const parts = lists.flatMap((l) => l.parts);
  return { parts: parts.length, pieces: parts.flatMap((p) => Array.from({ length: p.last - p.first + 1 }, (_, i) => p.first + i)) };
}

/** Waits until the job's staged upload holds at least `count` parts, then SIGKILLs its worker; returns the pieces held and when. */
async function killWorkerAfterParts(jobId: string, count: number): Promise<{ kept: number[]; killedAt: number }> {
  let kept = { parts: 0, pieces: [] as number[] };
  for (let i = 0; i < 300 && kept.parts < count; i++) {
    await sleep(50);
    kept = await uploadedPieces(jobId);
  }
  expect(kept.parts).toBeGreaterThanOrEqual(count);
  const killedAt = Date.now();
  // The worker holding the step dies; its message comes back after the visibility timeout, for another worker.
  for (const group of fx.runtime.workers.busy()) process.kill(-group, 'SIGKILL');
  return { kept: kept.pieces, killedAt };
}

/** The extract step's progress as the job record shows it, polled until the job ends. */
async function extractProgress(jobId: string): Promise<Array<Record<string, number>>> {
  const seen: Array<Record<string, number>> = [];
  for (let i = 0; i < 600; i++) {
    const record = await fx.runtime.job(jobId);
    if (record?.progress.step === 'extract') seen.push(record.progress as Record<string, number>);
    if (record && ['SUCCEEDED', 'FAILED'].includes(record.status)) break;
    await sleep(100);
  }
  return seen;
}

describe('progress on the job record', () => {
  it('a direct file: bytes, percent of its size and a rate while it downloads', async () => {
    const seen = await extractProgress(await fx.runtime.submit({ source: { type: 'http', url: server.url('/big.mp4') } }, 2));
    const midway = seen.filter((p) => p.percent! > 0 && p.percent! < 100);
    expect(midway.length).toBeGreaterThan(0);
    for (const p of midway) expect(p.totalBytes).toBe(bytes.length);
    // The very first report has no rate yet; later ones do (two connections at ~4 MB/s each).
    expect(midway.some((p) => p.bytesPerSecond! > 1e6)).toBe(true);
    expect(seen.at(-1)).toMatchObject({ bytes: bytes.length, percent: 100 });
  });

  it('an HLS playlist: bytes and a percent estimated from the media seconds fetched, 100 at the end', async () => {
    const jobId = await fx.runtime.submit({ source: { type: 'http', url: server.url('/held/index.m3u8') } }, 2);
    // While the last segment is held the record must show a percent strictly between 0 and 100.
    let midway: Record<string, number> | undefined;
    try {
      for (let i = 0; i < 300 && !midway; i++) {
        const progress = ((await fx.runtime.job(jobId))?.progress ?? {}) as Record<string, number>;
        if (progress.percent! > 0 && progress.percent! < 100) midway = progress;
        else await sleep(100);
      }
    } finally {
      releaseLast();
    }
    expect(midway).toMatchObject({ step: 'extract', bytes: expect.any(Number), totalBytes: expect.any(Number) });
    expect((await extractProgress(jobId)).at(-1)).toMatchObject({ percent: 100 });
  });
});

describe('resumable segmented downloads', () => {
  it('after the worker is killed mid-playlist, the retry fetches no segment it had kept', async () => {
    const since = Date.now();
    const jobId = await fx.runtime.submit({ source: { type: 'http', url: server.url('/hls/index.m3u8') } }, 2);
    const { kept, killedAt } = await killWorkerAfterParts(jobId, 2);
    const record = await fx.runtime.finish(jobId);
    expect(record.status).toBe('SUCCEEDED');
    const total = readdirSync(join(fx.dir, 'hls')).filter((f) => f.endsWith('.ts')).length;
    const after = segmentRequests.filter((r) => r.at > killedAt).map((r) => r.name);
    const name = (index: number) => `seg${String(index).padStart(3, '0')}.ts`;
    for (const index of kept) expect(after).not.toContain(name(index));
    // Every segment was fetched, and only those no upload part held at the kill were fetched twice.
    const requests = segmentRequests.filter((r) => r.at >= since).map((r) => r.name);
    expect(new Set(requests).size).toBe(total);
    const twice = requests.filter((n, i) => requests.indexOf(n) !== i);
    expect(twice.filter((n) => kept.map(name).includes(n))).toEqual([]);
  });
});

describe('resumable direct downloads', () => {
  it('the fixture is big enough for several parts', () => {
    expect(Math.ceil(statSync(clip).size / partSize(statSync(clip).size, 2))).toBeGreaterThanOrEqual(4);
  });

  it('after the worker is killed mid-download, the retry refetches no finished part and the result is byte-identical', async () => {
    const jobId = await fx.runtime.submit({ source: { type: 'http', url: server.url('/big.mp4') } }, 2);
    const prefix = `staging/local/${jobId}/parts/`;
    const { kept, killedAt } = await killWorkerAfterParts(jobId, 2);

    const record = await fx.runtime.finish(jobId);
    expect(record.status).toBe('SUCCEEDED');
    expect(record.checkpoints.extract).toMatchObject({ bytes: bytes.length, source: { sha256: sha256(bytes) } });
    const after = served.filter((s) => s.path === '/big.mp4' && s.at > killedAt).map((s) => s.start);
    expect(after.length).toBeGreaterThan(0);
    for (const index of kept) expect(after).not.toContain(index * partSize(bytes.length, 2));
    // The part lists are gone once the download is whole.
    const left = await fx.runtime.s3.send(new ListObjectsV2Command({ Bucket: fx.runtime.config.STAGING_BUCKET, Prefix: prefix }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('never reuses kept parts of a file that changed (another ETag) between attempts', async () => {
    const jobId = await fx.runtime.submit({ source: { type: 'http', url: server.url('/changing.mp4') } }, 2);
    await killWorkerAfterParts(jobId, 2);
    changed = true;
    const record = await fx.runtime.finish(jobId);
    expect(record.status).toBe('SUCCEEDED');
    expect(record.checkpoints.extract).toMatchObject({ bytes: other.length, source: { sha256: sha256(other) } });
  });

  it('survives a server that cuts every response part-way, fetching little more than the file', async () => {
    const record = await fx.runtime.finish(await fx.runtime.submit({ source: { type: 'http', url: server.url('/cut.mp4') } }, 4));
    expect(record.status).toBe('SUCCEEDED');
    expect(record.checkpoints.extract).toMatchObject({ bytes: bytes.length, source: { sha256: sha256(bytes) } });
    const sent = served.filter((s) => s.path === '/cut.mp4').reduce((n, s) => n + s.sent, 0);
    expect(sent).toBeGreaterThanOrEqual(bytes.length);
    expect(sent).toBeLessThan(bytes.length * 1.05);
  });
});
