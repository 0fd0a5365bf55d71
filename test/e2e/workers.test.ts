import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalRuntime } from '../../local/runtime.js';
import { makeClip } from '../fixtures/media.js';
import { startServer, type TestServer } from '../fixtures/server.js';

/** The warm worker pool on the work queue: backpressure, claims, the dead-letter queue. */
let dir: string;
let runtime: LocalRuntime;
let server: TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-workers-'));
  const clip = makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2, width: 320, height: 240 });
  server = await startServer({
    '/clip.mp4': { file: clip },
    // Ranges (classify's probe) are answered; a full download never ends: a step that is still running.
    '/forever.mp4': { handler: (req, res) => (req.headers.range ? res.writeHead(206, { 'content-range': 'bytes 0-0/1000000', 'content-type': 'video/mp4' }).end('x') : res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 1_000_000 }).write('x')) },
  });
  runtime = await LocalRuntime.start({ dataDir: join(dir, 'data'), allowHosts: ['127.0.0.1'], workers: 2, settings: { visibilityTimeoutSeconds: 5 } });
});

afterAll(async () => {
  await runtime?.stop();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The steps each worker ran, from its log: [start, end] times, to count how many ran at once. */
async function stepIntervals(): Promise<Array<[number, number]>> {
  const intervals: Array<[number, number]> = [];
  for (let n = 1; n <= runtime.workers.size; n++) {
    const lines = (await readFile(join(runtime.dataDir, 'logs', `worker-${n}.log`), 'utf8')).split('\n').filter((l) => l.startsWith('{'));
    let started: number | undefined;
    for (const line of lines.map((l) => JSON.parse(l) as { message: string; timestamp: string })) {
      if (line.message === 'step started') started = Date.parse(line.timestamp);
      if (line.message === 'step ended' && started !== undefined) intervals.push([started, Date.parse(line.timestamp)]);
    }
  }
  return intervals;
}

function mostAtOnce(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([a, b]) => [[a, 1], [b, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

describe('a burst far larger than the pool', () => {
  it('drains 50 jobs through 2 warm workers: all SUCCEEDED, never more than 2 steps at once, queues empty', async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, () => runtime.submit({ source: { type: 'http', url: server.url('/clip.mp4') } })));
    const records = await Promise.all(ids.map((id) => runtime.finish(id)));
    expect(records.map((r) => r.status)).toEqual(ids.map(() => 'SUCCEEDED'));
    const intervals = await stepIntervals();
    expect(intervals.length).toBeGreaterThanOrEqual(100);
    expect(mostAtOnce(intervals)).toBe(2);
    expect(await runtime.queueDepth()).toEqual({ work: 0, deadLetters: 0 });
  });
});
