/**
 * bench/workers — what warm workers on a queue changed, measured in one run:
 * 1. a 6-second clip job (download, transcode), submission to SUCCEEDED, through this checkout's runtime (a pool of warm
 *    workers fed by the queue) and through `--before`'s (a worker process started per step): the first job of a fresh
 *    runtime (cold) and the median of the next `--runs` (warm);
 * 2. each step's wait from its state's entry to a worker starting it (this checkout);
 * 3. `--jobs` such jobs POSTed at once to `media-ingest serve --workers 2`: jobs per minute until the last ends, and the
 *    peak RSS of the whole runtime (serve, its workers, their tools), sampled from /proc every 100 ms.
 * Run: `node --import tsx bench/workers.ts [--runs 5] [--jobs 20] [--before c987082]`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeClip } from '../test/fixtures/media.js';
import { startServer } from '../test/fixtures/server.js';
import { median } from './harness.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, jobs: { type: 'string', default: '20' }, before: { type: 'string', default: 'c987082' } } });
const ROOT = resolve(import.meta.dirname, '..');
const say = (line: string) => process.stderr.write(`${line}\n`);

/** The `--before` commit's tree beside this one, sharing its node_modules (the runner imports its runtime). */
function checkout(ref: string): string {
  const dir = join(tmpdir(), `media-ingest-bench-${ref}`);
  if (!existsSync(join(dir, 'local'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${ref}" | tar -x -C "${dir}"`]);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  }
  return dir;
}

type Job = { ms: number; status: string; pickupsMs: number[] };
function runJobs(root: string, url: string, runs: number): Promise<Job[]> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'job-runner.ts'), '--root', root, '--url', url, '--runs', String(runs)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('[')) done(JSON.parse(last) as Job[]);
      else fail(new Error(`job runner in ${root} exited ${code}: ${out.slice(-500)}`));
    });
  });
}

/** Resident memory of a process and all its descendants, from /proc. */
function treeRss(pid: number): number {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch {
      // The process ended while being read.
    }
  }
  let bytes = 0;
  for (const queue = [pid]; queue.length; ) {
    const p = queue.pop()!;
    try {
      bytes += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // Gone already.
    }
    queue.push(...(children.get(p) ?? []));
  }
  return bytes;
}

/** `serve --workers 2` as a user starts it; `count` jobs POSTed at once; jobs per minute and the tree's peak RSS. */
async function burst(url: string, count: number): Promise<{ perMinute: number; peakRss: number; statuses: Record<string, number> }> {
  const dataDir = join(await mkdtemp(join(tmpdir(), 'media-ingest-bench-serve-')), 'data');
  const serve = spawn(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), join(ROOT, 'local/cli.ts'), 'serve', '--port', '0', '--workers', '2', '--allow-host', '127.0.0.1', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env },
  });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, treeRss(serve.pid!))), 100);
  try {
    const api = await new Promise<string>((done) => serve.stdout.on('data', (c: Buffer) => /API on (\S+)/.exec(c.toString()) && done(/API on (\S+)/.exec(c.toString())![1]!)));
    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: count }, async () => {
        const answer = await fetch(`${api}/jobs`, { method: 'POST', body: JSON.stringify({ source: { type: 'http', url }, actions: ['download', 'transcode'] }) });
        return ((await answer.json()) as { jobId: string }).jobId;
      }),
    );
    const statuses: Record<string, number> = {};
    for (const id of ids) {
      for (;;) {
        const { status } = (await (await fetch(`${api}/jobs/${id}`)).json()) as { status: string };
        if (!['QUEUED', 'RUNNING'].includes(status)) {
          statuses[status] = (statuses[status] ?? 0) + 1;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { perMinute: (count / (performance.now() - t0)) * 60_000, peakRss, statuses };
  } finally {
    clearInterval(sampler);
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
  }
}

const media = join(tmpdir(), 'media-ingest-bench-workers');
const clip = existsSync(join(media, 'clip.mp4')) ? join(media, 'clip.mp4') : makeClip(media, 'clip.mp4', { seconds: 6 });
const server = await startServer({ '/clip.mp4': { file: clip } });
const url = server.url('/clip.mp4');
const runs = Number(values.runs);
try {
  say(`6-s clip jobs through ${values.before} (a process per step), then this checkout (warm workers)…`);
  const before = await runJobs(checkout(values.before!), url, runs + 1);
  const after = await runJobs(ROOT, url, runs + 1);
  say(`${values.jobs} jobs at once through serve --workers 2…`);
  const b = await burst(url, Number(values.jobs));
  const row = (name: string, jobs: Job[]) => {
    const warm = median(jobs.slice(1).map((j) => j.ms));
    return `| ${name} | ${jobs[0]!.ms} ms | ${warm} ms | ${jobs.map((j) => j.status[0]).join('')} |`;
  };
  const pickups = after.slice(1).flatMap((j) => j.pickupsMs);
  console.log(`| runtime | first job (cold) | warm, median of ${runs} | statuses |\n| --- | --- | --- | --- |`);
  console.log(row(`${values.before} (process per step)`, before));
  console.log(row('this checkout (warm pool)', after));
  console.log(`warm/before: ${(median(after.slice(1).map((j) => j.ms)) / median(before.slice(1).map((j) => j.ms))).toFixed(2)}`);
  console.log(`step message → warm worker start: median ${median(pickups)} ms, max ${Math.max(...pickups)} ms over ${pickups.length} steps`);
  console.log(`${values.jobs} jobs through serve --workers 2: ${b.perMinute.toFixed(1)} jobs/min, peak RSS ${(b.peakRss / 2 ** 20).toFixed(0)} MiB, ${JSON.stringify(b.statuses)}`);
  console.log(`every run (ms): before ${before.map((j) => j.ms).join('/')}; after ${after.map((j) => j.ms).join('/')}`);
} finally {
  await server.close();
}
