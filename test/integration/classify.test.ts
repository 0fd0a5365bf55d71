import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config.js';
import { classify } from '../../lambdas/classify/classify.js';
import { makeClip } from '../fixtures/media.js';
import { type ForbiddenServer, startForbiddenServer, startServer, type TestServer } from '../fixtures/server.js';

let dir: string;
let origin: TestServer;
let forbidden: ForbiddenServer;

const config = (allow: string[]) => loadConfig({ MEDIA_INGEST_ALLOW_HOSTS: allow.join(',') });
const input = (url: string) => ({
  tenant: 't1',
  jobId: 'j1',
  request: { source: { type: 'http', url }, actions: ['download'] },
  options: { connections: 4 },
  checkpoints: {},
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-classify-'));
  forbidden = await startForbiddenServer();
  origin = await startServer({
    '/clip.mp4': { file: makeClip(dir, 'clip.mp4', { seconds: 1 }) },
    '/norange.mp4': { file: join(dir, 'clip.mp4'), ranges: false },
    '/hop.mp4': { status: 302, headers: { location: '/clip.mp4' } },
    '/escape.mp4': { status: 302, headers: { location: `${forbidden.url}/meta` } },
    '/metadata': { status: 301, headers: { location: 'http://169.254.169.254/latest/meta-data/' } },
    '/page': { status: 200, contentType: 'text/html', body: '<!doctype html><html><body>hi</body></html>' },
    '/playlist.m3u8': { status: 200, contentType: 'application/vnd.apple.mpegurl', body: '#EXTM3U\n#EXT-X-TARGETDURATION:4\n' },
    '/forbidden.mp4': { status: 403 },
    '/busy.mp4': { status: 503 },
  });
});

afterAll(async () => {
  await origin?.close();
  forbidden?.close();
  await rm(dir, { recursive: true, force: true });
});

const allowOrigin = () => config(['127.0.0.1']);

describe('the classify Lambda', () => {
  it('finds a direct file with ranges, its size and type', async () => {
    const cp = await classify(input(origin.url('/clip.mp4')), allowOrigin());
    expect(cp).toMatchObject({ kind: 'direct', acceptRanges: true, contentType: 'video/mp4', url: origin.url('/clip.mp4') });
    expect(cp.bytes).toBeGreaterThan(10_000);
  });

  it('notes a server without ranges', async () => {
    expect(await classify(input(origin.url('/norange.mp4')), allowOrigin())).toMatchObject({ kind: 'direct', acceptRanges: false });
  });

  it('follows a redirect on an allowed host and reports where it landed', async () => {
    expect(await classify(input(origin.url('/hop.mp4')), allowOrigin())).toMatchObject({ kind: 'direct', url: origin.url('/clip.mp4') });
  });

  it('refuses a redirect from an allowlisted host to a refused one without a byte sent there', async () => {
    await expect(classify(input(origin.url('/escape.mp4')), allowOrigin())).rejects.toMatchObject({ name: 'UnsafeUrl' });
    expect(forbidden.hits()).toBe(0);
  });

  it('refuses a redirect to the cloud metadata address', async () => {
    await expect(classify(input(origin.url('/metadata')), allowOrigin())).rejects.toMatchObject({
      name: 'UnsafeUrl',
      message: expect.stringContaining('169.254.169.254'),
    });
  });

  it('refuses a loopback URL when nothing is allowlisted, before any request', async () => {
    const before = origin.totalRequests();
    await expect(classify(input(origin.url('/clip.mp4')), config([]))).rejects.toMatchObject({ name: 'UnsafeUrl' });
    expect(origin.totalRequests()).toBe(before);
  });

  it('recognises an HLS playlist by its first line', async () => {
    expect(await classify(input(origin.url('/playlist.m3u8')), allowOrigin())).toMatchObject({ kind: 'hls' });
  });

  it.each([
    ['/page', 'UnsupportedSource'],
    ['/missing.mp4', 'SourceNotFound'],
    ['/forbidden.mp4', 'SourceForbidden'],
    ['/busy.mp4', 'SourceUnavailable'],
  ])('names the failure for %s: %s', async (path, code) => {
    await expect(classify(input(origin.url(path)), allowOrigin())).rejects.toMatchObject({ name: code });
  });

  it('refuses a source larger than the configured limit', async () => {
    const small = loadConfig({ MEDIA_INGEST_ALLOW_HOSTS: '127.0.0.1', MEDIA_INGEST_MAX_BYTES: '1000' });
    await expect(classify(input(origin.url('/clip.mp4')), small)).rejects.toMatchObject({ name: 'TooLarge' });
  });

  it('refuses an invalid event with InvalidRequest naming the field', async () => {
    await expect(classify({ tenant: 't1' }, allowOrigin())).rejects.toMatchObject({ name: 'InvalidRequest', message: expect.stringContaining('jobId') });
  });
});
