import { createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { ff, makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { itEndsEveryJobWithAStableCode } from '../fixtures/contract.js';
import { type ForbiddenServer, serveRange, stall, type TestServer } from '../fixtures/server.js';

const SECRET = 'hostile-test-secret-0123456789';
const MAX_BYTES = 8 * 1024 * 1024;
let origin: TestServer;
let forbidden: ForbiddenServer;
let clip: string;
const callbacks: Array<{ body: string; signature: string }> = [];

const fx = withRuntime('hostile', {
  env: {
    MEDIA_INGEST_IDLE_TIMEOUT_MS: '1500',
    MEDIA_INGEST_MAX_BYTES: String(MAX_BYTES),
    MEDIA_INGEST_MAX_SEGMENTS: '50',
    MEDIA_INGEST_MAX_DURATION_SECONDS: '30',
    MEDIA_INGEST_TOTAL_TIMEOUT_MS: '4000',
    MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: '127.0.0.1',
    MEDIA_INGEST_CALLBACK_SECRET: SECRET,
  },
  runtime: { retryIntervalMs: 50 },
  setup: async ({ dir, serve, forbidden: scratchForbidden }) => {
    clip = makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2 });
    const long = makeClip(join(dir, 'media'), 'long.mp4', { seconds: 40, width: 160, height: 120 });
    const titled = join(dir, 'media', 'titled.mp4');
    ff('-i', clip, '-c', 'copy', '-metadata', 'title=../../etc/passwd; rm -rf / $(id) `reboot` | x', titled);
    const bytes = readFileSync(clip);

    forbidden = await scratchForbidden();

    const playlist = (n: number) => `#EXTM3U\n#EXT-X-TARGETDURATION:4\n${Array.from({ length: n }, (_, i) => `#EXTINF:4.0,\nseg${i}.ts`).join('\n')}\n#EXT-X-ENDLIST\n`;
    origin = await serve({
      '/clip.mp4': { file: clip },
      '/titled.mp4': { file: titled },
      '/hop1': { status: 302, headers: { location: '/hop2' } },
      '/hop2': { status: 307, headers: { location: `${forbidden.url}/clip.mp4` } },
      '/to-metadata': { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' } },
      '/many.m3u8': { status: 200, contentType: 'application/vnd.apple.mpegurl', body: playlist(60) },
      '/long.m3u8': { status: 200, contentType: 'application/vnd.apple.mpegurl', body: playlist(10) },
      // Records who asks: ffprobe (Lavf) may read the head; a download would be a plain GET by the worker.
      '/long.mp4': {
        handler: (req, res) => {
          const who = String(req.headers['user-agent']).startsWith('Lavf') ? 'ffprobe' : req.headers.range === 'bytes=0-4095' ? 'probe' : 'download';
          origin.hits.set(`/long.mp4:${who}`, (origin.hits.get(`/long.mp4:${who}`) ?? 0) + 1);
          serveRange(req, res, long);
        },
      },
      '/loop': { status: 302, headers: { location: '/loop' } },
      // One byte every 300 ms: never idle long enough to time out, never done.
      '/drip.mp4': {
        handler: (req, res) => {
          if (req.headers.range === 'bytes=0-4095') return void serveRange(req, res, bytes);
          serveRange(req, res, bytes, { ranges: false, rate: 1000 / 300, cutAfter: 100 });
        },
      },
      // Serves the first 4 KB to a probe, then stalls half-way through the download.
      '/stall.mp4': {
        handler: (req, res) => {
          if (req.headers.range === 'bytes=0-4095') return void serveRange(req, res, bytes);
          stall(res, bytes.subarray(0, bytes.length / 2), bytes.length, 20_000);
        },
      },
      // Declares more bytes than it sends, then closes the connection.
      '/liar.mp4': {
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': bytes.length + 100_000 });
          res.write(bytes, () => res.socket?.destroy());
        },
      },
      // Chunked, no length, no end — until the client leaves or 100 MB have gone.
      '/endless.mp4': {
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'video/mp4' });
          const block = Buffer.alloc(64 * 1024, 1);
          let sent = 0;
          const pump = () => {
            while (!res.destroyed && sent < 100 * 1024 * 1024) {
              sent += block.length;
              if (!res.write(block)) return void res.once('drain', pump);
            }
            res.end();
          };
          res.on('close', () => (sent = Infinity));
          pump();
        },
      },
      // A callback receiver that fails twice, then accepts.
      '/hook': {
        receive: (body, req, res) => {
          callbacks.push({ body: body.toString('utf8'), signature: String(req.headers['x-media-ingest-signature']) });
          res.writeHead(callbacks.length <= 2 ? 503 : 200).end();
        },
      },
    });
  },
});

afterEach(() => expect(forbidden.hits()).toBe(0));

async function run(url: string, extra: Record<string, unknown> = {}) {
  const jobId = await fx.runtime.submit({ source: { type: 'http', url }, ...extra });
  return fx.runtime.finish(jobId);
}

describe('redirects and addresses the policy refuses', () => {
  it('fails a redirect chain from an allowlisted host to a refused one with UnsafeUrl; the target sees nothing', async () => {
    const record = await run(origin.url('/hop1'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'classify', error: { code: 'UnsafeUrl' } });
    expect(record.error!.message).toContain('127.0.0.2');
  });

  it('fails a source that redirects to 169.254.169.254 with UnsafeUrl, without a connection attempted there', async () => {
    const attempted: string[] = [];
    const connect = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      // net.connect() hands Socket#connect its normalised arguments as one array: [options, callback].
      const options = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string } | undefined;
      if (options && typeof options === 'object') attempted.push(String(options.host));
      return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof connect;
    try {
      // The spy sees connections: prove it on one of our own before the job runs.
      await new Promise<void>((resolve) => net.connect(origin.port, '127.0.0.1', function (this: net.Socket) { this.end(); resolve(); }));
      const before = origin.hits.get('/to-metadata') ?? 0;
      const record = await run(origin.url('/to-metadata'));
      expect(origin.hits.get('/to-metadata')).toBe(before + 1);
      expect(record).toMatchObject({ status: 'FAILED', error: { code: 'UnsafeUrl' } });
      expect(record.error!.message).toContain('169.254.169.254');
      expect(record.error!.message).toContain('linkLocal');
    } finally {
      net.Socket.prototype.connect = connect;
    }
    expect(attempted).toContain('127.0.0.1');
    expect(attempted).not.toContain('169.254.169.254');
  });

  it.each([
    (p: number) => `http://2130706434:${p}/clip.mp4`,
    (p: number) => `http://0x7f000002:${p}/clip.mp4`,
    (p: number) => `http://0177.0.0.2:${p}/clip.mp4`,
    (p: number) => `http://127.2:${p}/clip.mp4`,
    (p: number) => `http://[::ffff:127.0.0.2]:${p}/clip.mp4`,
    (p: number) => `http://[::ffff:7f00:2]:${p}/clip.mp4`,
    () => 'http://0xa9fea9fe/latest/meta-data/',
    () => 'http://2852039166/latest/meta-data/',
    () => 'http://[::ffff:169.254.169.254]/latest/meta-data/',
    () => 'http://[fd00:ec2::254]/latest/meta-data/',
    () => 'http://[::1]/',
    () => 'http://0.0.0.0/',
  ])('fails every spelling of a refused address with UnsafeUrl: %s', async (spell) => {
    const url = spell(forbidden.port);
    const record = await run(url);
    expect({ url, status: record.status, code: record.error?.code }).toEqual({ url, status: 'FAILED', code: 'UnsafeUrl' });
  });

  it('fails a non-http scheme with UnsafeUrl', async () => {
    const record = await run('file:///etc/passwd');
    expect(record).toMatchObject({ status: 'FAILED', error: { code: 'UnsafeUrl' } });
  });
});

describe('sources that misbehave', () => {
  it('fails a server that stalls mid-body with StepTimeout and leaves no scratch behind', async () => {
    const record = await run(origin.url('/stall.mp4'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'StepTimeout' } });
    expect(() => statSync(join(fx.runtime.workDir, record.jobId))).toThrow(/ENOENT/);
    expect(record.artifacts).toEqual([]);
  });

  it('fails a lying Content-Length with SourceUnavailable after the retries, saying what arrived', async () => {
    const record = await run(origin.url('/liar.mp4'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'SourceUnavailable' } });
    expect(record.error!.message).toMatch(/closed the connection after \d+ of \d+ bytes/);
    expect(() => statSync(join(fx.runtime.workDir, record.jobId))).toThrow(/ENOENT/);
  });

  it('stops an endless body at the byte limit with TooLarge', async () => {
    const record = await run(origin.url('/endless.mp4'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'TooLarge' } });
    expect(record.error!.message).toContain(String(MAX_BYTES));
  });

  it('refuses a playlist over the segment limit with TooLarge before fetching a segment', async () => {
    const record = await run(origin.url('/many.m3u8'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'classify', error: { code: 'TooLarge' } });
    expect(record.error!.message).toContain('60 segments');
    expect(origin.hits.get('/seg0.ts')).toBeUndefined();
  });

  it('refuses a playlist longer than the duration limit with TooLarge before fetching a segment', async () => {
    const record = await run(origin.url('/long.m3u8'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'classify', error: { code: 'TooLarge' } });
    expect(record.error!.message).toContain('lasts 40 s; the limit is 30 s');
    expect(origin.hits.get('/seg0.ts')).toBeUndefined();
  });

  it('refuses a file longer than the duration limit with TooLarge from its first bytes, before downloading it', async () => {
    const record = await run(origin.url('/long.mp4'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'TooLarge' } });
    expect(record.error!.message).toMatch(/lasts 40 s; the limit is 30 s/);
    expect(origin.hits.get('/long.mp4:ffprobe')).toBeGreaterThan(0);
    expect(origin.hits.get('/long.mp4:download')).toBeUndefined();
  });

  it('ends a download that never finishes at the total timeout with StepTimeout', async () => {
    const record = await run(origin.url('/drip.mp4'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'extract', error: { code: 'StepTimeout' } });
    expect(() => statSync(join(fx.runtime.workDir, record.jobId))).toThrow(/ENOENT/);
  });

  it('stops following redirects at the limit with InvalidRequest', async () => {
    const record = await run(origin.url('/loop'));
    expect(record).toMatchObject({ status: 'FAILED', stage: 'classify', error: { code: 'InvalidRequest' } });
    expect(record.error!.message).toContain('more than 5 redirects');
    expect(origin.hits.get('/loop')).toBe(6);
  });
});

describe('names and metadata from the source', () => {
  it('sanitises a title with ../, NUL and shell characters, and never uses it for a name', async () => {
    const title = '../../etc/passwd\u0000; rm -rf / $(id) `reboot`\u202e';
    const record = await run(origin.url('/titled.mp4'), { source: { type: 'http', url: origin.url('/titled.mp4'), metadata: { title, '../key': 'v' } } });
    expect(record.status).toBe('SUCCEEDED');
    expect(record.request.source.metadata).toEqual({ title: '.._.._etc_passwd ; rm -rf _ $(id) `reboot`', '.._key': 'v' });
    for (const a of record.artifacts) expect(a.key).toMatch(new RegExp(`^tenants/local/jobs/${record.jobId}/[a-z]+\\.(mp4|json|jpg|wav)$`));
    const out = join(fx.dir, 'titled-out');
    await fx.runtime.download(record, out);
    const metadata = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    expect(metadata.source.title).toBe('.._.._etc_passwd ; rm -rf _ $(id) `reboot`');
    expect(metadata.source.extra.title).toBe('.._.._etc_passwd ; rm -rf _ $(id) `reboot`');
    expect(metadata.source.tags.title).toBe('.._.._etc_passwd; rm -rf _ $(id) `reboot` | x');
  });

  it('refuses a storage_path that climbs out of the tenant prefix with InvalidRequest, recording nothing', async () => {
    await expect(fx.runtime.submit({ job_id: 'escape', source: { type: 'http', url: origin.url('/clip.mp4') }, storage_path: '../../other-tenant' })).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringContaining('storage_path'),
    });
    expect(await fx.runtime.job('escape')).toBeUndefined();
  });
});

describe('callbacks', () => {
  it('refuses a callback_url whose host is not on the allowlist with InvalidRequest', async () => {
    await expect(
      fx.runtime.submit({ job_id: 'cb-refused', source: { type: 'http', url: origin.url('/clip.mp4') }, callback_url: 'http://127.0.0.2/hook' }),
    ).rejects.toMatchObject({ name: 'InvalidRequest', message: expect.stringContaining('callback allowlist') });
    expect(await fx.runtime.job('cb-refused')).toBeUndefined();
  });

  it('retries a receiver that fails twice, delivers once, and signs the body with HMAC-SHA256', async () => {
    const record = await run(origin.url('/clip.mp4'), { callback_url: origin.url('/hook') });
    expect(record.status).toBe('SUCCEEDED');
    expect(record.callback).toEqual({ delivered: true, status: 200, attempts: 3 });
    expect(callbacks).toHaveLength(3);
    const { body, signature } = callbacks[2]!;
    const [, t, mac] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
    expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(60);
    expect(mac).toBe(createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex'));
    expect(JSON.parse(body)).toMatchObject({ jobId: record.jobId, status: 'SUCCEEDED' });
  });
});

itEndsEveryJobWithAStableCode(() => fx.runtime);
