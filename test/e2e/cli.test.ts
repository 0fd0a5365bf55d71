import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LocalRuntime } from '../../local/runtime.js';
import { makeClip, probeStreams } from '../fixtures/media.js';
import { withScratch } from '../fixtures/runtime.js';
import { isProbe, serveRange, stall, type TestServer } from '../fixtures/server.js';

const BIN = fileURLToPath(new URL('../../bin/media-ingest', import.meta.url));
let server: TestServer;
/** Downloads of /held.mp4 begun. */
let held: number | undefined;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(BIN, args, { cwd: scratch.dir, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const scratch = withScratch('cli', {
  setup: async ({ dir, serve }) => {
    const clip = makeClip(join(dir, 'media'), 'clip.mp4');
    server = await serve({
      '/clip.mp4': { file: clip },
      '/talk.mp4': { file: makeClip(join(dir, 'media'), 'talk.mp4', { speech: 'Hello world. This is a talk about boats.' }) },
      // Probes get the head; the download is held open (half sent) until the client goes.
      '/held.mp4': {
        handler: (req, res) => {
          if (isProbe(req, 'bytes=0-0')) return serveRange(req, res, clip);
          held = (held ?? 0) + 1;
          stall(res, readFileSync(clip).subarray(0, 10_000), statSync(clip).size, 25_000);
        },
      },
    });
  },
});

describe('media-ingest run', () => {
  it('runs a job on a loopback MP4 with --allow-host, prints one JSON record and copies the artifacts', async () => {
    const out = join(scratch.dir, 'out');
    const { code, stdout, stderr } = await cli('run', server.url('/clip.mp4'), '--allow-host', '127.0.0.1', '--json', '--out', out);
    // Nothing on stderr but, when no earlier run has made it, the one notice of the stack's synthesis.
    const noise = stderr.split('\n').filter((line) => line && !line.startsWith('media-ingest: synthesising the CDK stack'));
    expect({ code, noise }).toEqual({ code: 0, noise: [] });
    const record = JSON.parse(stdout);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(record).toMatchObject({ status: 'SUCCEEDED', stage: 'done', error: null });
    expect(typeof record.jobId).toBe('string');
    for (const step of ['classify', 'extract', 'merge', 'publish']) {
      expect(record.checkpoints[step]).toEqual(expect.objectContaining({ durationMs: expect.any(Number), bytes: expect.any(Number) }));
    }
    for (const name of ['source.mp4', 'metadata.json', 'thumbnail.jpg', 'audio.wav']) {
      expect(statSync(join(out, name)).size).toBeGreaterThan(0);
    }
    expect(probeStreams(join(out, 'audio.wav'))[0]).toMatchObject({ channels: 1, sample_rate: '16000' });
    // The state lives in the default data directory of the working directory.
    expect(statSync(join(scratch.dir, '.media-ingest', 'dynamodb')).isDirectory()).toBe(true);
  });

  it('refuses a loopback URL without --allow-host: exit 1, UnsafeUrl, and the server sees no request', async () => {
    const before = server.totalRequests();
    const { code, stdout } = await cli('run', server.url('/clip.mp4'), '--json', '--data-dir', join(scratch.dir, 'strict'));
    expect(code).toBe(1);
    const record = JSON.parse(stdout);
    expect(record).toMatchObject({ status: 'FAILED', error: { code: 'UnsafeUrl' } });
    expect(record.error.message).toContain('loopback');
    expect(server.totalRequests()).toBe(before);
  });

  it('uploads a local file and runs the job on it as an upload', async () => {
    const file = join(scratch.dir, 'media', 'clip.mp4');
    const { code, stdout } = await cli('run', file, '--json', '--data-dir', join(scratch.dir, 'upload-data'));
    expect(code).toBe(0);
    const record = JSON.parse(stdout);
    expect(record).toMatchObject({ status: 'SUCCEEDED', request: { source: { type: 'upload', url: expect.stringMatching(/^uploads\/local\/.+\/clip\.mp4$/) } } });
    expect(record.checkpoints.classify).toMatchObject({ kind: 'upload', bytes: statSync(file).size });
    expect(record.checkpoints.extract.source.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
  });

  it('says a missing file is neither a URL nor a file: exit 2', async () => {
    const { code, stderr } = await cli('run', join(scratch.dir, 'no-such.mp4'), '--data-dir', join(scratch.dir, 'upload-data'));
    expect(code).toBe(2);
    expect(stderr).toContain('neither a URL nor a file');
  });

  it.each([
    [['--connections', '0x10'], '--connections must be a whole number'],
    [['--connections', '1e1'], '--connections must be a whole number'],
    [['--out', BIN], 'is a file, not a folder'],
  ])('refuses %j before any job runs: exit 2, the reason on stderr, nothing on stdout', async (args, reason) => {
    const data = join(scratch.dir, 'refused-data');
    const { code, stdout, stderr } = await cli('run', server.url('/clip.mp4'), '--allow-host', '127.0.0.1', '--json', '--data-dir', data, ...args);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain(reason);
    expect(stderr).not.toContain('    at ');
  });

  it('prints a readable summary without --json', async () => {
    const { code, stdout } = await cli('run', server.url('/missing.mp4'), '--allow-host', '127.0.0.1');
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAILED/);
    expect(stdout).toMatch(/SourceNotFound: source not found \(HTTP 404\)/);
  });

  it.each([
    [['run'], /exactly one URL/],
    [['run', 'http://x/a.mp4', '--actions', 'download,explode'], /--actions takes download, transcode, transcribe; not explode/],
    [['run', 'http://x/a.mp4', '--connections', '0'], /--connections must be a whole number from 1 to 64/],
    [['run', 'http://x/a.mp4', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command frobnicate/],
  ])('exits 2 with usage for bad usage: %j', async (args, message) => {
    const { code, stderr } = await cli(...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain('Usage:');
  });
});

describe('transcripts from the CLI', () => {
  it('writes transcript.txt, .srt, .vtt and .json beside the other artifacts with --actions …,transcribe', async () => {
    const out = join(scratch.dir, 'talk');
    const { code } = await cli('run', server.url('/talk.mp4'), '--allow-host', '127.0.0.1', '--actions', 'download,transcode,transcribe', '--out', out, '--data-dir', join(scratch.dir, 'talk-data'));
    expect(code).toBe(0);
    for (const name of ['source.mp4', 'metadata.json', 'thumbnail.jpg', 'audio.wav', 'transcript.txt', 'transcript.srt', 'transcript.vtt', 'transcript.json']) {
      expect(statSync(join(out, name)).size).toBeGreaterThan(0);
    }
    expect(readFileSync(join(out, 'transcript.txt'), 'utf8')).toMatch(/hello|world|boats/);
  });
});

describe('media-ingest serve', () => {
  it('on Ctrl-C lets running jobs end; a second Ctrl-C cancels them, recorded CANCELLED, and it exits 0', async () => {
    const data = join(scratch.dir, 'serve-data');
    const child = spawn(BIN, ['serve', '--port', '0', '--allow-host', '127.0.0.1', '--data-dir', data], { cwd: scratch.dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    for (let i = 0; i < 600 && !/on (http:\/\/\S+) /.test(out); i++) await sleep(100);
    const api = /on (http:\/\/\S+) /.exec(out)![1];
    const res = await fetch(`${api}/jobs`, { method: 'POST', body: JSON.stringify({ job_id: 'held', source: { type: 'http', url: server.url('/held.mp4') } }) });
    expect(res.status).toBe(202);
    for (let i = 0; i < 300 && (held ?? 0) === 0; i++) await sleep(100);
    child.kill('SIGINT');
    for (let i = 0; i < 100 && !out.includes('Ctrl-C again'); i++) await sleep(100);
    expect(out).toContain('waiting for 1 running job(s)');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('cancelled: held');
    const runtime = await LocalRuntime.start({ dataDir: data });
    try {
      expect(await runtime.job('held')).toMatchObject({ status: 'CANCELLED' });
    } finally {
      await runtime.stop();
    }
  });
});

describe('media-ingest demo', () => {
  it('makes sample media, serves it, runs a job and says where the artifacts are', async () => {
    const { code, stdout } = await cli('demo', '--data-dir', join(scratch.dir, 'demo-data'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/SUCCEEDED/);
    const where = /the artifacts are in (.+)\n/.exec(stdout)![1]!;
    for (const name of ['source.mp4', 'audio.wav', 'thumbnail.jpg', 'transcript.vtt']) expect(statSync(join(where, name)).size).toBeGreaterThan(0);
  });
});

describe('media-ingest help', () => {
  it('prints the usage and exits 0', async () => {
    const { code, stderr } = await cli('help');
    expect(code).toBe(0);
    expect(stderr).toContain('media-ingest run <url|file>');
    expect(readFileSync(BIN, 'utf8')).toContain('ensure-deps.sh');
  });
});
