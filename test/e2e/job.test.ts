import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ff, makeClip, probeDuration, probeStreams } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { type CallbackReceiver, serveRange, stall, type TestServer } from '../fixtures/server.js';

let server: TestServer;
let clip: string;
let clipDuration: number;

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const CALLBACK_SECRET = 'test-callback-secret-0123456789';

const fx = withRuntime('e2e', {
  // A short claim: a lost worker's step comes back soon, and a cancel reaches its worker within seconds.
  runtime: { settings: { visibilityTimeoutSeconds: 5 } },
  env: { MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: '127.0.0.1', MEDIA_INGEST_CALLBACK_SECRET: CALLBACK_SECRET },
  setup: async ({ dir, serve }) => {
    clip = makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 4 });
    clipDuration = probeDuration(clip);
    // The same streams with the index written after the media data (ffmpeg's default without +faststart).
    ff('-i', clip, '-c', 'copy', join(dir, 'media', 'late-index.mp4'));
    const noise = join(dir, 'media', 'noise.mp4');
    writeFileSync(noise, randomBytes(64 * 1024));
    server = await serve({
      '/clip.mp4': { file: clip },
      '/late-index.mp4': { file: join(dir, 'media', 'late-index.mp4') },
      '/noise.mp4': { file: noise },
      '/page.mp4': { status: 200, contentType: 'video/mp4', body: `<!DOCTYPE html><html><body>${'<p>not a video</p>'.repeat(2000)}</body></html>` },
      // Every full download stalls half-way (ranges, such as classify's probe, are served): past any step timeout.
      '/hang.mp4': {
        handler: (req, res) => {
          if (req.headers.range) return void serveRange(req, res, clip);
          stall(res, readFileSync(clip).subarray(0, statSync(clip).size / 2), statSync(clip).size);
        },
      },
      // The first full download stalls half-way, so the test can kill the worker mid-download.
      '/stall.mp4': {
        handler: (req, res) => {
          if (req.headers.range || (server.hits.get('/stall-started') ?? 0) > 0) return void serveRange(req, res, clip);
          server.hits.set('/stall-started', 1);
          stall(res, readFileSync(clip).subarray(0, statSync(clip).size / 2), statSync(clip).size);
        },
      },
    });
  },
});

async function run(url: string, actions?: string[]) {
  const jobId = await fx.runtime.submit({ source: { type: 'http', url }, ...(actions ? { actions } : {}) });
  return fx.runtime.finish(jobId);
}

describe('a job on a direct MP4 served on loopback', () => {
  let record: Awaited<ReturnType<typeof run>>;
  let out: string;

  beforeAll(async () => {
    record = await run(server.url('/clip.mp4'));
    out = join(fx.dir, 'out');
    await fx.runtime.download(record, out);
  });

  it('SUCCEEDS and records it in DynamoDB with a checkpoint per step', () => {
    expect(record.error).toBeNull();
    expect(record.status).toBe('SUCCEEDED');
    expect(record.stage).toBe('done');
    expect(record.attempts).toBe(1);
    expect(record.executionArn).toContain(record.jobId);
    for (const step of ['classify', 'extract', 'merge', 'publish'] as const) {
      expect(record.checkpoints[step]).toEqual(expect.objectContaining({ durationMs: expect.any(Number), bytes: expect.any(Number) }));
    }
    expect(record.checkpoints.extract!.bytes).toBe(statSync(clip).size);
    expect(record.checkpoints.transcribe).toBeUndefined();
  });

  it('publishes the artifacts with their sizes and hashes, and a manifest', () => {
    expect(record.artifacts.map((a) => a.name).sort()).toEqual(['audio.wav', 'manifest.json', 'metadata.json', 'source.mp4', 'thumbnail.jpg']);
    for (const a of record.artifacts) {
      expect(a.key.startsWith(`tenants/local/jobs/${record.jobId}/`)).toBe(true);
      expect(statSync(join(out, a.name)).size).toBe(a.bytes);
      expect(sha256(join(out, a.name))).toBe(a.sha256);
    }
  });

  it('stores nothing derived: the artifact list only in the publish checkpoint, progress without its percent', async () => {
    const { Item } = await fx.runtime.operator.db.send(new GetCommand({ TableName: fx.runtime.config.JOBS_TABLE, Key: { tenant: record.tenant, jobId: record.jobId } }));
    expect(Object.keys(Item!)).not.toContain('artifacts');
    expect(JSON.parse(Item!.checkpoints.publish as string).artifacts).toEqual(record.artifacts);
    expect(Item!.progress).toEqual(expect.objectContaining({ bytes: expect.any(Number) }));
    expect(Object.keys(Item!.progress as object)).not.toContain('percent');
    expect(record.progress.percent).toBe(Math.min(100, Math.round((record.progress.bytes! / record.progress.totalBytes!) * 1000) / 10));
  });

  it('writes audio.wav as mono 16 kHz PCM lasting as long as the source (±0.1 s)', () => {
    const [audio] = probeStreams(join(out, 'audio.wav'));
    expect(audio).toMatchObject({ codec_name: 'pcm_s16le', channels: 1, sample_rate: '16000' });
    expect(Math.abs(probeDuration(join(out, 'audio.wav')) - clipDuration)).toBeLessThanOrEqual(0.1);
  });

  it('writes a JPEG thumbnail', () => {
    const bytes = readFileSync(join(out, 'thumbnail.jpg'));
    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(probeStreams(join(out, 'thumbnail.jpg'))[0]).toMatchObject({ codec_name: 'mjpeg', width: 320, height: 240 });
  });

  it('keeps the faststart original as source.mp4 (its very bytes), and writes metadata.json describing its streams', async () => {
    expect(sha256(join(out, 'source.mp4'))).toBe(sha256(clip));
    // The artifact is typed as what it is, whatever the original was staged as: publish sets the type.
    const published = record.artifacts.find((a) => a.name === 'source.mp4')!;
    const head = await fx.runtime.s3.send(new HeadObjectCommand({ Bucket: published.bucket, Key: published.key }));
    expect(head.ContentType).toBe('video/mp4');
    expect(probeStreams(join(out, 'source.mp4')).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const metadata = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    expect(metadata.durationSeconds).toBeCloseTo(clipDuration, 1);
    expect(metadata.sizeBytes).toBe(statSync(join(out, 'source.mp4')).size);
    expect(metadata.streams).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'video', codec: 'h264', width: 320, height: 240, fps: 25 }),
        expect.objectContaining({ kind: 'audio', codec: 'aac', sampleRate: 48000, channels: 1 }),
      ]),
    );
    expect(metadata.processing).toEqual({ path: 'copied', reason: null });
  });

  it('removes the worker scratch directory when its steps end', () => {
    expect(() => statSync(join(fx.runtime.workDir, record.jobId))).toThrow(/ENOENT/);
  });
});

describe('a job on an MP4 whose index comes after its media data', () => {
  it('remuxes it into a faststart source.mp4 and says why it was not kept as it is', async () => {
    const record = await run(server.url('/late-index.mp4'));
    expect(record.status).toBe('SUCCEEDED');
    const out = join(fx.dir, 'out', record.jobId);
    await fx.runtime.download(record, out);
    const metadata = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    expect(metadata.processing).toEqual({ path: 'remuxed', reason: 'its index (moov) comes after the media data' });
    const head = readFileSync(join(out, 'source.mp4')).subarray(0, 4096).toString('latin1');
    expect(head.indexOf('moov')).toBeGreaterThan(0);
    expect(head.indexOf('mdat') === -1 || head.indexOf('moov') < head.indexOf('mdat')).toBe(true);
  });
});

describe('a job as large as the request allows', () => {
  it('SUCCEEDS with a 4096-character URL and 20 metadata fields of 400 characters: the steps get a reference, not the state', async () => {
    const base = server.url('/clip.mp4?q=');
    const url = base + 'a'.repeat(4096 - base.length);
    const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`field${i}`, 'm'.repeat(400)]));
    const record = await fx.runtime.finish(await fx.runtime.submit({ source: { type: 'http', url, metadata } }));
    expect(record.status).toBe('SUCCEEDED');
    expect(record.request.source.url).toHaveLength(4096);
  });
});

describe('a job that fails', () => {
  it('ends FAILED with SourceNotFound for a 404 URL', async () => {
    const record = await run(server.url('/missing.mp4'));
    expect(record.status).toBe('FAILED');
    expect(record.error).toMatchObject({ code: 'SourceNotFound' });
    expect(record.error!.message).toContain('HTTP 404');
    expect(record.artifacts).toEqual([]);
  });

  it('ends FAILED with NotMedia for an HTML page served as .mp4 with Content-Type video/mp4', async () => {
    const record = await run(server.url('/page.mp4'));
    expect(record.status).toBe('FAILED');
    expect(record.error).toMatchObject({ code: 'NotMedia' });
  });

  it('ends FAILED with NotMedia when the worker finds no media stream in the download, and publishes nothing', async () => {
    const record = await run(server.url('/noise.mp4'));
    expect(record.status).toBe('FAILED');
    expect(record.stage).toBe('extract');
    expect(record.error).toMatchObject({ code: 'NotMedia' });
    expect(record.artifacts).toEqual([]);
    expect(() => statSync(join(fx.runtime.workDir, record.jobId))).toThrow(/ENOENT/);
  });
});

describe('transcription when asked', () => {
  it('adds transcript.json, .txt, .srt and .vtt', async () => {
    const record = await run(server.url('/clip.mp4'), ['download', 'transcode', 'transcribe']);
    expect(record.status).toBe('SUCCEEDED');
    expect(record.artifacts.map((a) => a.name)).toEqual(
      expect.arrayContaining(['transcript.json', 'transcript.txt', 'transcript.srt', 'transcript.vtt']),
    );
    expect(record.checkpoints.transcribe).toMatchObject({ engine: 'pocketsphinx' });
  });
});

describe('the callback', () => {
  let hook: CallbackReceiver;
  const received = () => hook.received;

  beforeAll(async () => {
    hook = await fx.callbacks();
  });

  it('POSTs the final record to callback_url when the job succeeds, and records the delivery', async () => {
    const jobId = await fx.runtime.submit({ source: { type: 'http', url: server.url('/clip.mp4') }, callback_url: hook.url });
    const record = await fx.runtime.finish(jobId);
    expect(received().find((r) => r.jobId === jobId)).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(record.callback).toEqual({ delivered: true, status: 204, attempts: 1 });
  });

  it('POSTs the failure too, with its error code', async () => {
    const jobId = await fx.runtime.submit({ source: { type: 'http', url: server.url('/missing.mp4') }, callback_url: hook.url });
    const record = await fx.runtime.finish(jobId);
    expect(received().find((r) => r.jobId === jobId)).toMatchObject({ status: 'FAILED', error: { code: 'SourceNotFound' } });
    expect(record.callback).toMatchObject({ delivered: true });
  });

  it('records a failed delivery without changing the job status', async () => {
    const jobId = await fx.runtime.submit({ source: { type: 'http', url: server.url('/clip.mp4') }, callback_url: new URL('/gone', hook.url).href });
    const record = await fx.runtime.finish(jobId);
    expect(record.status).toBe('SUCCEEDED');
    expect(record.callback).toEqual({ delivered: false, status: 404, attempts: 3 });
  });
});

describe('a step past its configured timeout', () => {
  it('ends FAILED with States.Timeout at extract when extractTimeoutSeconds is lowered (the definition deployed carries it)', async () => {
    await fx.runtime.reconfigure({ extractTimeoutSeconds: 2 });
    try {
      const started = Date.now();
      const record = await fx.runtime.finish(await fx.runtime.submit({ source: { type: 'http', url: server.url('/hang.mp4') } }));
      expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'States.Timeout' } });
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await fx.runtime.reconfigure({});
    }
  });
});

describe('a worker that dies', () => {
  it('loses only its claim: the message comes back after the visibility timeout, another worker finishes the step', async () => {
    const jobId = await fx.runtime.submit({ source: { type: 'http', url: server.url('/stall.mp4') } });
    // Wait for the stalled download, then kill the worker holding the step outright.
    let tasks: number[] = [];
    for (let i = 0; i < 100 && !tasks.length; i++) {
      await sleep(100);
      if (server.hits.has('/stall-started')) tasks = fx.runtime.workers.busy();
    }
    expect(tasks).toHaveLength(1);
    // The whole worker at once (bubblewrap and the worker in it), as a lost Fargate task.
    for (const group of tasks) process.kill(-group, 'SIGKILL');
    const record = await fx.runtime.finish(jobId);
    expect(record.status).toBe('SUCCEEDED');
    const history = JSON.parse(await readFile(join(fx.runtime.dataDir, 'executions', `local-${jobId}.json`), 'utf8'));
    const extract = history.events.filter((e: { type: string; state?: { name: string } }) => e.state?.name === 'Extract').map((e: { type: string }) => e.type);
    // One task, never failed nor retried by the state machine: the queue gave the same message to another worker.
    expect(extract).not.toContain('StateFailed');
    expect(extract).not.toContain('StateRetried');
    const logs = (await Promise.all(Array.from({ length: fx.runtime.workers.size }, (_, i) => i + 1).map((n) => readFile(join(fx.runtime.dataDir, 'logs', `worker-${n}.log`), 'utf8')))).join('\n');
    const starts = logs.split('\n').filter((l) => l.includes('"step started"') && l.includes(jobId) && l.includes('"extract"'));
    expect(starts).toHaveLength(2);
  });
});
