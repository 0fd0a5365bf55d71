/**
 * Runs jobs through one checkout's local runtime and prints what they took, as JSON on stdout: for each job, submission
 * to its end, and each worker step's wait from its state's entry to a worker's "step started". bench/workers runs it
 * against this checkout and an older one (the runtime is imported from `--root`, so both use the same runner).
 * Run: `node --import tsx bench/job-runner.ts --root DIR --url URL [--runs 5] [--workers 2]`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string' }, url: { type: 'string' }, runs: { type: 'string', default: '5' }, workers: { type: 'string', default: '2' } } });
interface Runtime {
  dataDir: string;
  submit(body: unknown): Promise<string>;
  finish(jobId: string): Promise<{ status: string }>;
  stop(): Promise<void>;
}
const { LocalRuntime } = (await import(join(values.root!, 'local', 'runtime.ts'))) as { LocalRuntime: { start(o: object): Promise<Runtime> } };
const dataDir = join(await mkdtemp(join(tmpdir(), 'media-ingest-bench-jobs-')), 'data');
// `workers` is ignored by a runtime that starts a process per step (it has no pool).
const runtime = await LocalRuntime.start({ dataDir, allowHosts: ['127.0.0.1'], workers: Number(values.workers) });

/** Each worker step's wait: from its state's entry in the execution history to the worker's "step started" line. */
async function pickups(jobId: string): Promise<number[]> {
  const history = JSON.parse(await readFile(join(dataDir, 'executions', `local-${jobId}.json`), 'utf8')) as { events: Array<{ type: string; timestamp: number; state?: { name: string } }> };
  const entered = new Map(history.events.filter((e) => e.type === 'StateEntered').map((e) => [e.state!.name.toLowerCase(), e.timestamp]));
  const logs = (await readdir(join(dataDir, 'logs'))).filter((f) => f.startsWith('worker'));
  const waits: number[] = [];
  for (const f of logs) {
    for (const line of (await readFile(join(dataDir, 'logs', f), 'utf8')).split('\n')) {
      if (!line.includes('"step started"') || !line.includes(jobId)) continue;
      const { step, timestamp } = JSON.parse(line) as { step: string; timestamp: string };
      const at = entered.get(step);
      if (at !== undefined) waits.push(Date.parse(timestamp) - at);
    }
  }
  return waits;
}

const jobs: Array<{ ms: number; status: string; pickupsMs: number[] }> = [];
try {
  for (let i = 0; i < Number(values.runs); i++) {
    const t0 = performance.now();
    const jobId = await runtime.submit({ source: { type: 'http', url: values.url }, actions: ['download', 'transcode'] });
    const { status } = await runtime.finish(jobId);
    jobs.push({ ms: Math.round(performance.now() - t0), status, pickupsMs: await pickups(jobId).catch(() => []) });
  }
} finally {
  await runtime.stop();
}
process.stdout.write(`${JSON.stringify(jobs)}\n`);
