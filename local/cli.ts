import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cliConfig } from '../core/config.js';
import { MediaIngestError } from '../core/errors.js';
import { wholeNumber } from '../core/input.js';
import { ACTIONS, type Action, DEFAULT_ACTIONS, type JobRecord } from '../core/job.js';
import type { LocalRuntime, RuntimeOptions } from './runtime.js';
import { makeClip, serveSample } from './sample-media.js';

const USAGE = `media-ingest — turn a media URL into verified artifacts, on this machine

Usage:
  media-ingest run <url|file> [--actions download,transcode,transcribe] [--out DIR] [--json]
                         [--allow-host HOST]... [--connections N] [--workers N] [--data-dir DIR]
  media-ingest serve [--port N] [--allow-host HOST]... [--workers N] [--data-dir DIR]
  media-ingest demo [--out DIR] [--workers N] [--data-dir DIR]
  media-ingest help

run     runs one job to its end. Exit 0 when it SUCCEEDED, 1 when it FAILED, 2 on bad usage or a refused request,
        130 when Ctrl-C cancelled it (recorded CANCELLED, its tools stopped, its scratch removed).
        A URL is fetched (file, HLS, DASH or any page yt-dlp knows); a local file is uploaded first.
        --json prints exactly one JSON object on stdout: the final job record.
        --out copies the artifacts to DIR (source.mp4, metadata.json, thumbnail.jpg, audio.wav, transcript.*).
serve   the HTTP API on 127.0.0.1: POST /jobs, GET /jobs, GET /jobs/{id}, DELETE /jobs/{id}, POST /uploads (default port 8080).
demo    makes sample media, serves it on loopback, runs a job on it and prints where the artifacts are.

--workers N (1-64) warm worker processes run the steps, one at a time each (default: $MEDIA_INGEST_WORKERS or the
        number of cores); more jobs than workers wait on the work queue.
Loopback, private and link-local addresses are refused (UnsafeUrl) unless --allow-host names them.
State lives in --data-dir (default: $MEDIA_INGEST_DATA_DIR or ./.media-ingest).`;

class UsageError extends Error {}

/** How `run` and `demo` exit for a job's final status. */
const EXIT_CODES: Partial<Record<JobRecord['status'], number>> = { SUCCEEDED: 0, FAILED: 1, CANCELLED: 130 };

const OPTIONS = {
  actions: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  'allow-host': { type: 'string', multiple: true, default: [] as string[] },
  connections: { type: 'string' },
  port: { type: 'string' },
  workers: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function integer(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = wholeNumber(value);
  if (n === undefined || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** `--out` must name a folder (or nothing yet): checked before the job runs, not after it has succeeded. */
function outDir(value: string | undefined): string | undefined {
  if (value !== undefined && existsSync(value) && !statSync(value).isDirectory()) throw new UsageError(`--out ${value} is a file, not a folder`);
  return value;
}

function actions(value: string | undefined): Action[] {
  if (value === undefined) return DEFAULT_ACTIONS;
  const list = value.split(',').map((a) => a.trim()).filter(Boolean);
  const bad = list.filter((a) => !(ACTIONS as readonly string[]).includes(a));
  if (!list.length || bad.length) throw new UsageError(`--actions takes ${ACTIONS.join(', ')}; not ${bad.join(', ') || 'nothing'}`);
  return list as Action[];
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** stdout as it was before logs were routed away from it: what the CLI itself says. */
const stdout = process.stdout.write.bind(process.stdout);

/** Sends what the handlers in this process log to a file, so stdout carries only the CLI's own output (written by the function it returns). */
function routeLogs(dataDir: string): (text: string) => void {
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const log = createWriteStream(join(dataDir, 'logs', 'media-ingest.log'), { flags: 'a' });
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    return log.write(chunk, done);
  }) as typeof process.stdout.write;
  return (text) => void stdout(text);
}

/**
 * Starts the local runtime, loaded only here: it brings the AWS SDK and the stand-ins, a second of loading that help
 * and usage errors need not wait for.
 */
async function startRuntime(options: RuntimeOptions): Promise<LocalRuntime> {
  const { LocalRuntime } = await import('./runtime.js');
  return LocalRuntime.start(options);
}

/** What the runtime says it is doing at start (a synth of the stack, the first time): on stderr, like the setup. */
const say = (line: string) => void process.stderr.write(`media-ingest: ${line}\n`);

/** Polls the job record and shows stage, percent and bytes on a terminal. */
function showProgress(runtime: LocalRuntime, jobId: string): () => void {
  if (!process.stderr.isTTY) return () => undefined;
  let line = '';
  let stopped = false;
  const timer = setInterval(() => {
    runtime.job(jobId).then((r) => {
      // A poll still in flight when the job ended must not draw over the summary.
      if (!r || stopped) return;
      const p = r.progress;
      const onStage = p.step === r.stage;
      const pct = onStage && p.percent !== undefined ? ` ${p.percent.toFixed(1)}%` : '';
      const bytes = onStage && p.bytes !== undefined ? `  ${mb(p.bytes)}${p.totalBytes ? ` / ${mb(p.totalBytes)}` : ''}` : '';
      const rate = onStage && p.bytesPerSecond ? `  ${mb(p.bytesPerSecond)}/s` : '';
      line = `${r.status.toLowerCase()} · ${r.stage}${pct}${bytes}${rate}`;
      process.stderr.write(`\r\x1b[2K${line}`);
    }, () => undefined);
  }, 250);
  return () => {
    stopped = true;
    clearInterval(timer);
    if (line) process.stderr.write('\r\x1b[2K');
  };
}

function summary(record: JobRecord, seconds: number, written: string[]): string {
  const lines = [`job ${record.jobId} ${record.status} in ${seconds.toFixed(1)} s`];
  if (record.error) {
    lines.push(`error: ${record.error.code}: ${record.error.message}`);
    for (const l of record.error.stderrTail ?? []) lines.push(`  | ${l}`);
  }
  for (const a of record.artifacts) lines.push(`  ${a.name.padEnd(16)} ${String(a.bytes).padStart(12)} bytes  s3://${a.bucket}/${a.key}`);
  if (written.length) lines.push(`copied to: ${resolve(written[0]!, '..')}`);
  return lines.join('\n') + '\n';
}

/** A URL is fetched; a path to a local file is uploaded first, as a caller's upload would be. */
async function sourceOf(runtime: LocalRuntime, target: string): Promise<{ type: 'http' | 'upload'; url: string }> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return { type: 'http', url: target };
  if (!existsSync(target) || !statSync(target).isFile()) throw new UsageError(`${target} is neither a URL nor a file`);
  return { type: 'upload', url: await runtime.upload(target) };
}

/** Until `done` settles, Ctrl-C (or a TERM) cancels the job, once: as `DELETE /jobs/{id}` would. */
function cancelOnInterrupt(runtime: LocalRuntime, jobId: string, done: Promise<unknown>): void {
  let cancelling = false;
  const cancel = () => {
    if (cancelling) return;
    cancelling = true;
    runtime.cancel(jobId).catch((err: Error) => say(`could not cancel ${jobId}: ${err.message}`));
  };
  process.on('SIGINT', cancel).on('SIGTERM', cancel);
  void done.finally(() => process.off('SIGINT', cancel).off('SIGTERM', cancel)).catch(() => undefined);
}

async function runJob(runtime: LocalRuntime, target: string, opts: { actions: Action[]; connections?: number; out?: string }) {
  const started = Date.now();
  const jobId = await runtime.submit({ source: await sourceOf(runtime, target), actions: opts.actions }, opts.connections);
  const stop = showProgress(runtime, jobId);
  const finished = runtime.finish(jobId).finally(stop);
  cancelOnInterrupt(runtime, jobId, finished);
  const record = await finished;
  const written = opts.out && record.status === 'SUCCEEDED' ? await runtime.download(record, opts.out) : [];
  return { record, written, seconds: (Date.now() - started) / 1000 };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  if (values.help || command === 'help' || command === undefined) {
    process.stderr.write(USAGE + '\n');
    return command === undefined && !values.help ? 2 : 0;
  }
  const env = cliConfig(process.env);
  const dataDir = resolve(values['data-dir'] ?? env.MEDIA_INGEST_DATA_DIR);
  const allowHosts = values['allow-host'];
  const workers = integer(values.workers ?? env.MEDIA_INGEST_WORKERS, 'workers', 1, 64);

  if (command === 'run') {
    if (rest.length !== 1) throw new UsageError('run takes exactly one URL or file');
    const opts = { actions: actions(values.actions), connections: integer(values.connections, 'connections', 1, 64), out: outDir(values.out) };
    const print = routeLogs(dataDir);
    const runtime = await startRuntime({ dataDir, allowHosts, say, workers });
    try {
      const { record, written, seconds } = await runJob(runtime, rest[0]!, opts);
      print(values.json ? JSON.stringify(record) + '\n' : summary(record, seconds, written));
      return EXIT_CODES[record.status] ?? 1;
    } finally {
      await runtime.stop();
    }
  }

  if (command === 'serve') {
    if (rest.length) throw new UsageError('serve takes no arguments');
    const port = integer(values.port, 'port', 0, 65535) ?? 8080;
    const print = routeLogs(dataDir);
    const runtime = await startRuntime({ dataDir, allowHosts, say, workers });
    const { startApiServer } = await import('./api-server.js');
    const { server, url } = await startApiServer(port, runtime);
    print(`media-ingest API on ${url} (POST /jobs, GET /jobs, GET /jobs/{id}, DELETE /jobs/{id}, POST /uploads); data in ${dataDir}; Ctrl-C stops (running jobs finish first)\n`);
    const signal = () =>
      new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
    await signal();
    await new Promise<void>((done) => server.close(() => done()));
    // Running jobs finish first; a second Ctrl-C cancels them (recorded CANCELLED, workers stopped).
    const running = runtime.runningJobs().length;
    if (running) {
      print(`waiting for ${running} running job(s) to end; Ctrl-C again cancels them\n`);
      let cancelling: Promise<string[]> | undefined;
      const cancel = signal().then(() => (cancelling = runtime.cancelRunning()));
      await Promise.race([runtime.drained(), cancel]);
      // Cancelled executions end before cancelRunning returns: wait for it either way.
      if (cancelling) print(`cancelled: ${(await cancelling).join(', ')}\n`);
    }
    await runtime.stop();
    return 0;
  }

  if (command === 'demo') {
    if (rest.length) throw new UsageError('demo takes no arguments');
    const out = resolve(outDir(values.out) ?? join(dataDir, 'demo-artifacts'));
    const print = routeLogs(dataDir);
    print('making a 6-second sample clip with speech (ffmpeg + flite)…\n');
    const clip = makeClip(join(dataDir, 'demo-source'), 'sample.mp4', { speech: 'Hello from media ingest. This clip was made on your machine and served on loopback.' });
    const { url, server } = await serveSample(clip, 'sample.mp4');
    print(`serving it at ${url}; running a job with download, transcode and transcribe…\n`);
    const runtime = await startRuntime({ dataDir, allowHosts: ['127.0.0.1', ...allowHosts], say, workers });
    try {
      const { record, written, seconds } = await runJob(runtime, url, { actions: ['download', 'transcode', 'transcribe'], out });
      print(summary(record, seconds, written));
      if (record.status === 'SUCCEEDED') print(`the artifacts are in ${out}\n`);
      return EXIT_CODES[record.status] ?? 1;
    } finally {
      server.close();
      await runtime.stop();
    }
  }
  throw new UsageError(`unknown command ${command}`);
}

main(process.argv.slice(2)).then(
  // stdout may be a pipe, written asynchronously: exit once what was said has left.
  (code) => stdout('', () => process.exit(code)),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`media-ingest: ${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    // A request the API would answer with 400: its stable code and message (already redacted), no stack.
    if (err instanceof MediaIngestError) {
      process.stderr.write(`media-ingest: ${err.code}: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`media-ingest: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
