import { join } from 'node:path';
import { setUp } from '../../core/component.js';
import { classify } from '../../lambdas/classify/classify.js';
import { makeClip } from '../fixtures/media.js';
import { withScratch } from '../fixtures/runtime.js';
import type { ForbiddenServer, TestServer } from '../fixtures/server.js';

let origin: TestServer;
let forbidden: ForbiddenServer;

const config = (allow: string[], more: Record<string, string> = {}) =>
  setUp('classify', { STAGING_BUCKET: 'staging', MEDIA_INGEST_ALLOW_HOSTS: allow.join(','), ...more });
const input = (url: string) => ({
  tenant: 't1',
  jobId: 'j1',
  request: { source: { type: 'http', url }, actions: ['download'] },
  options: { connections: 4 },
  checkpoints: {},
});

withScratch('classify', {
  setup: async ({ dir, serve, forbidden: refused }) => {
    forbidden = await refused();
    origin = await serve({
      '/clip.mp4': { file: makeClip(dir, 'clip.mp4', { seconds: 1 }) },
      '/norange.mp4': { file: join(dir, 'clip.mp4'), ranges: false },
      '/hop.mp4': { status: 302, headers: { location: '/clip.mp4' } },
      '/escape.mp4': { status: 302, headers: { location: `${forbidden.url}/meta` } },
      '/metadata': { status: 301, headers: { location: 'http://169.254.169.254/latest/meta-data/' } },
      '/page': { status: 200, contentType: 'text/html', body: '<!doctype html><html><body>hi</body></html>' },
      '/playlist.m3u8': { status: 200, contentType: 'application/vnd.apple.mpegurl', body: `${HLS_VOD}#EXT-X-ENDLIST\n` },
      '/live.m3u8': { status: 200, contentType: 'application/vnd.apple.mpegurl', body: HLS_VOD },
      '/master.m3u8': { status: 200, contentType: 'application/vnd.apple.mpegurl', body: '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nnested.m3u8\n' },
      '/nested.m3u8': { status: 200, contentType: 'application/vnd.apple.mpegurl', body: '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nplaylist.m3u8\n' },
      '/single-quoted-live.mpd': { status: 200, contentType: 'application/dash+xml', body: mpd('dynamic').replace(`type="dynamic"`, `type='dynamic'`) },
      '/drm-in-representation.mpd': {
        status: 200,
        contentType: 'application/dash+xml',
        body: mpd('static').replace('<SegmentTemplate', '<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc"/>\n    <SegmentTemplate'),
      },
      '/notes.txt': { status: 200, contentType: 'text/plain', body: 'just some notes, no media here\n'.repeat(4) },
      '/manifest.mpd': { status: 200, contentType: 'application/dash+xml', body: mpd('static') },
      '/live.mpd': { status: 200, contentType: 'application/dash+xml', body: mpd('dynamic') },
      '/forbidden.mp4': { status: 403 },
      '/busy.mp4': { status: 503 },
    });
  },
});

/** A two-segment HLS media playlist, without its end tag. */
const HLS_VOD = '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\na.ts\n#EXTINF:4.0,\nb.ts\n';

/** A one-representation DASH manifest with a $Number$ template. */
function mpd(type: 'static' | 'dynamic'): string {
  return `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="${type}" mediaPresentationDuration="PT8S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period><AdaptationSet contentType="video"><Representation id="v" bandwidth="500000" width="320" height="240" codecs="avc1.42c00d" mimeType="video/mp4">
    <SegmentTemplate timescale="1000" duration="2000" initialization="init-$RepresentationID$.m4s" media="chunk-$RepresentationID$-$Number$.m4s" startNumber="1"/>
  </Representation></AdaptationSet></Period>
</MPD>`;
}

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

  it('hands a web page to the platform extractors (yt-dlp decides in the worker)', async () => {
    expect(await classify(input(origin.url('/page')), allowOrigin())).toMatchObject({ kind: 'platform', contentType: 'text/html' });
  });

  it('recognises a DASH manifest by its root element and reads it', async () => {
    expect(await classify(input(origin.url('/manifest.mpd')), allowOrigin())).toMatchObject({ kind: 'dash' });
  });

  it.each([
    ['/notes.txt', 'UnsupportedSource'],
    ['/live.mpd', 'UnsupportedSource'],
    ['/missing.mp4', 'SourceNotFound'],
    ['/forbidden.mp4', 'SourceForbidden'],
    ['/busy.mp4', 'SourceUnavailable'],
  ])('names the failure for %s: %s', async (path, code) => {
    await expect(classify(input(origin.url(path)), allowOrigin())).rejects.toMatchObject({ name: code });
  });

  it.each([
    ['/single-quoted-live.mpd', 'live DASH presentations (type="dynamic")'],
    ['/drm-in-representation.mpd', 'DRM-protected'],
    ['/live.m3u8', 'live HLS playlists'],
    ['/master.m3u8', 'itself a master playlist'],
  ])('decides %s from the parsed manifest: %s', async (path, message) => {
    await expect(classify(input(origin.url(path)), allowOrigin())).rejects.toMatchObject({ name: 'UnsupportedSource', message: expect.stringContaining(message) });
  });

  it('refuses a source larger than the configured limit', async () => {
    const small = config(['127.0.0.1'], { MEDIA_INGEST_MAX_BYTES: '1000' });
    await expect(classify(input(origin.url('/clip.mp4')), small)).rejects.toMatchObject({ name: 'TooLarge' });
  });

  it('refuses an invalid event with InvalidRequest naming the field', async () => {
    await expect(classify({ tenant: 't1' }, allowOrigin())).rejects.toMatchObject({ name: 'InvalidRequest', message: expect.stringContaining('jobId') });
  });
});
