import { readFileSync, statSync } from 'node:fs';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalRuntime } from '../../local/runtime.js';
import { serveFile } from '../../local/sample-media.js';
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
    // Ranges (classify's probe) are served; a full download stalls half-way and never ends: a step still running.
    '/forever.mp4': {
      handler: (req, res) => {
        if (req.headers.range) return serveFile(req, res, clip);
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': statSync(clip).size });
        res.write(readFileSync(clip).subarray(0, 1000));
      },
    },
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
  // 15 times the pool: about 40 s of steps on an idle machine, and more than twice that beside another test file.
  it('drains 30 jobs through 2 warm workers: all SUCCEEDED, never more than 2 steps at once, queues empty', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, () => runtime.submit({ source: { type: 'http', url: server.url('/clip.mp4') } })));
    const records = await Promise.all(ids.map((id) => runtime.finish(id)));
    expect(records.map((r) => r.status)).toEqual(ids.map(() => 'SUCCEEDED'));
    const intervals = await stepIntervals();
    expect(intervals.length).toBeGreaterThanOrEqual(60);
    expect(mostAtOnce(intervals)).toBe(2);
    expect(await runtime.queueDepth()).toEqual({ work: 0, deadLetters: 0 });
  }, 300_000);
});

/** Waits (bounded) until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries && !(await check()); i++) await sleep(100);
}

describe('cancelled jobs', () => {
  it('drops a running step with its worker, and a queued step without running it', async () => {
    const url = server.url('/forever.mp4');
    const running = [await runtime.submit({ source: { type: 'http', url } }), await runtime.submit({ source: { type: 'http', url } })];
    await until(() => runtime.workers.busy().length === 2);
    const holders = runtime.workers.busy();
    expect(holders).toHaveLength(2);
    const queued = await runtime.submit({ source: { type: 'http', url } });
    await until(async () => (await runtime.job(queued))?.stage === 'extract');
    expect((await runtime.cancelRunning()).sort()).toEqual([...running, queued].sort());
    for (const id of [...running, queued]) expect(await runtime.finish(id)).toMatchObject({ status: 'CANCELLED', error: { code: 'Cancelled' } });
    // The holders learn it at their next heartbeat, drop the step and end; the queued message is dropped unrun.
    const alive = (group: number) => runtime.workers.groups().includes(group);
    await until(() => !holders.some(alive));
    expect(holders.filter(alive)).toEqual([]);
    await until(async () => (await runtime.queueDepth()).work === 0);
    expect(await runtime.queueDepth()).toEqual({ work: 0, deadLetters: 0 });
    const started = (await stepIntervals()).length;
    const logs = await Promise.all([1, 2].map((n) => readFile(join(runtime.dataDir, 'logs', `worker-${n}.log`), 'utf8')));
    expect(logs.join('')).not.toMatch(new RegExp(`"step started"[^\\n]*${queued}`));
    expect(started).toBeGreaterThan(0);
    for (const id of [...running, queued]) expect(() => statSync(join(runtime.workDir, id))).toThrow(/ENOENT/);
  });
});

describe('a step that crashes its worker every time', () => {
  it('goes to the dead-letter queue after its last delivery, and the job ends FAILED with WorkerLost', async () => {
    const jobId = await runtime.submit({ source: { type: 'http', url: server.url('/forever.mp4') } });
    const killed = new Set<number>();
    const ended = runtime.finish(jobId);
    let done = false;
    void ended.then(() => (done = true));
    // Each worker that starts the step dies at once, as a worker the step crashes would.
    while (!done) {
      for (const group of runtime.workers.busy().filter((g) => !killed.has(g))) {
        process.kill(-group, 'SIGKILL');
        killed.add(group);
      }
      await sleep(100);
    }
    const record = await ended;
    expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'WorkerLost' } });
    expect(record.error!.message).toMatch(/died 2 times/);
    expect(killed.size).toBe(2);
    await until(async () => (await runtime.queueDepth()).deadLetters === 1);
    expect(await runtime.queueDepth()).toEqual({ work: 0, deadLetters: 1 });
  });
});
