import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { JobRecord } from '../../core/job.js';
import { LocalRuntime } from '../../local/runtime.js';
import { ff } from '../fixtures/media.js';
import { withScratch } from '../fixtures/runtime.js';
import type { TestServer } from '../fixtures/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let origin: TestServer;

const scratch = withScratch('hostile-stops', {
  setup: async ({ serve }) => {
    // Sorenson H.263 cannot go into MP4: Merge re-encodes it with libx264, a tool busy for many seconds.
    const flv = join(scratch.dir, 'slow.flv');
    ff('-f', 'lavfi', '-i', 'testsrc=duration=60:size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=duration=60', '-c:v', 'flv1', '-q:v', '31', '-c:a', 'libmp3lame', '-shortest', flv);
    origin = await serve({ '/slow.flv': { file: flv, contentType: 'video/x-flv' } });
  },
});

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

/** Live processes that belong to a data directory: its path in their command line or their environment (WORK_DIR). */
function processesOf(dataDir: string): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z' && (cmdline.includes(dataDir) || environ.includes(dataDir))) found.push({ pid: Number(name), ppid: Number(ppid), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function until<T>(what: string, probe: () => T | undefined, ms = 120_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    const value = probe();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The libx264 ffmpeg of a data directory's Merge step, once it runs. */
const encoder = (dataDir: string) => () => processesOf(dataDir).find((p) => p.cmdline.startsWith('ffmpeg ') && p.cmdline.includes('libx264'));

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

/**
 * The CLI's own entry (bin/media-ingest execs it after its dependency check), leading its own process group as a
 * terminal's foreground job does.
 */
function startCli(...args: string[]) {
  const child = spawn(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/loader.mjs'), join(ROOT, 'local/cli.ts'), ...args], {
    cwd: scratch.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** A terminal's Ctrl-C: SIGINT to the whole foreground process group, not only to the CLI. */
const ctrlC = (child: { pid?: number }) => process.kill(-child.pid!, 'SIGINT');

describe('stops', () => {
  it('kills a tool whose worker died, removes its scratch, and the cancelled job leaves nothing running', async () => {
    const dataDir = join(scratch.dir, 'data-runtime');
    // A short claim: the dead worker's message comes back within seconds, and a cancel reaches a worker as soon.
    const runtime = await LocalRuntime.start({ dataDir, allowHosts: ['127.0.0.1'], retryIntervalMs: 50, settings: { visibilityTimeoutSeconds: 5 } });
    let record: JobRecord;
    try {
      const jobId = await runtime.submit({ source: { type: 'http', url: origin.url('/slow.flv') } });
      const ffmpeg = await until('the re-encode', encoder(dataDir));
      // The worker is the tool's parent: killed alone, with no chance to clean up.
      process.kill(ffmpeg.ppid, 'SIGKILL');
      await until('the orphaned ffmpeg to die', () => (alive(ffmpeg.pid) ? undefined : true), 5_000);
      // The Merge message comes back to another worker after the visibility timeout: cancel the job while it re-encodes.
      const retried = await until('the retried re-encode', () => encoder(dataDir)()?.pid !== ffmpeg.pid ? encoder(dataDir)() : undefined);
      await runtime.cancel(jobId);
      record = await runtime.finish(jobId);
      await until('the retried ffmpeg to die', () => (alive(retried.pid) ? undefined : true), 10_000);
    } finally {
      await runtime.stop();
    }
    expect(record).toMatchObject({ status: 'CANCELLED', error: { code: 'Cancelled' } });
    expect(processesOf(dataDir)).toEqual([]);
    expect(existsSync(join(runtime.workDir, record.jobId)) ? readdirSync(join(runtime.workDir, record.jobId), { recursive: true }) : 'gone').toBe('gone');
  });

  it('cancels the job of `run` on Ctrl-C: record CANCELLED, exit 130, no worker or ffmpeg left, scratch removed', async () => {
    const dataDir = join(scratch.dir, 'data-cli');
    const cli = startCli('run', origin.url('/slow.flv'), '--allow-host', '127.0.0.1', '--data-dir', dataDir, '--json');
    try {
      const ffmpeg = await until('the re-encode', encoder(dataDir), 180_000);
      ctrlC(cli.child);
      expect(await Promise.race([cli.exited, sleep(60_000, 'still running', { ref: false })])).toBe(130);
      expect(alive(ffmpeg.pid)).toBe(false);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    }
    const record = JSON.parse(cli.stdout()) as JobRecord;
    expect({ status: record.status, stage: record.stage, code: record.error?.code }).toEqual({ status: 'CANCELLED', stage: 'merge', code: 'Cancelled' });
    expect(processesOf(dataDir)).toEqual([]);
    expect(existsSync(join(dataDir, 'work', record.jobId))).toBe(false);
  });

  it('lets a running step finish on serve\'s first Ctrl-C: the encoder runs on, the job SUCCEEDS, serve exits 0', async () => {
    const dataDir = join(scratch.dir, 'data-serve');
    const serve = startCli('serve', '--port', '0', '--allow-host', '127.0.0.1', '--data-dir', dataDir);
    try {
      const api = (await until('the API', () => /on (http:\/\/\S+) /.exec(serve.stdout())?.[1]))!;
      const res = await fetch(`${api}/jobs`, { method: 'POST', body: JSON.stringify({ job_id: 'ctrl-c', source: { type: 'http', url: origin.url('/slow.flv') } }) });
      expect(res.status).toBe(202);
      const ffmpeg = await until('the re-encode', encoder(dataDir), 180_000);
      ctrlC(serve.child);
      await until('serve to say it waits', () => (serve.stdout().includes('waiting for 1 running job(s)') ? true : undefined), 10_000);
      await sleep(1000);
      expect(alive(ffmpeg.pid)).toBe(true);
      expect(await Promise.race([serve.exited, sleep(200_000, 'still running', { ref: false })])).toBe(0);
    } finally {
      if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
    }
    const runtime = await LocalRuntime.start({ dataDir });
    try {
      expect(await runtime.job('ctrl-c')).toMatchObject({ status: 'SUCCEEDED', error: null });
    } finally {
      await runtime.stop();
    }
    expect(processesOf(dataDir)).toEqual([]);
  }, 300_000);

  it('refuses a source URL with credentials in `run`: exit 2, the stable code, no stack and no password', async () => {
    const cli = startCli('run', `http://alice:pw-${process.pid}@127.0.0.1:${origin.port}/slow.flv`, '--allow-host', '127.0.0.1', '--data-dir', join(scratch.dir, 'data-cli'));
    expect(await cli.exited).toBe(2);
    const output = cli.stdout() + cli.stderr();
    expect(output).toContain('media-ingest: InvalidRequest: source.url: must not carry credentials');
    expect(output).not.toContain(`pw-${process.pid}`);
    expect(output).not.toMatch(/\n\s+at /);
  });
});
