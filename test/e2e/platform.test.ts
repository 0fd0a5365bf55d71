import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { setEnv } from '../fixtures/env.js';
import { runToEnd } from '../fixtures/jobs.js';
import { dash, dashLadder, hls, keyframedClip, probeDuration, probeStreams } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { folderRoutes, serveRange, type TestServer } from '../fixtures/server.js';

let server: TestServer;
const SECONDS = 6;
const COOKIE = 'session=cookie-value-never-logged';
const page = (title: string, body: string) => ({ status: 200, contentType: 'text/html; charset=utf-8', body: `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>` });
/** Each signed media request, with the token it carried and what it was answered. */
const signed: Array<{ token: string; status: number }> = [];

const fx = withRuntime('platform', {
  setup: async ({ dir, serve, atEnd }) => {
    const clip = keyframedClip(join(dir, 'clip.mp4'), SECONDS);
    hls(clip, join(dir, 'hls'));
    dash(clip, join(dir, 'dash'), '-use_template', '1', '-use_timeline', '0');
    // Two video heights with the audio apart, for the height cap.
    dashLadder(clip, join(dir, 'ladder'));
    const cookies = join(dir, 'cookies.txt');
    writeFileSync(cookies, `# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tcookie-value-never-logged\n`);
    atEnd(setEnv({ MEDIA_INGEST_COOKIES_FILE: cookies }));

    server = await serve({
      '/clip.mp4': { file: clip },
      ...folderRoutes(dir, 'hls'),
      ...folderRoutes(dir, 'dash'),
      ...folderRoutes(dir, 'ladder'),
      '/watch/ladder.html': page('Two heights', '<video controls><source src="/ladder/manifest.mpd" type="application/dash+xml"></video>'),
      '/watch/video.html': page('A test clip', '<video controls src="/clip.mp4"></video>'),
      '/watch/hls.html': page('An HLS clip', '<video controls><source src="/hls/index.m3u8" type="application/x-mpegURL"></video>'),
      '/watch/dash.html': page('A DASH clip', '<video controls><source src="/dash/manifest.mpd" type="application/dash+xml"></video>'),
      '/watch/nothing.html': page('Nothing to see', '<p>No media on this page.</p>'),
      // Each extraction of this page hands out a new token; the first one has expired by the time it is used.
      '/watch/signed.html': { handler: (_req, res, hit) => void res.writeHead(200, { 'content-type': 'text/html' }).end(page('Signed', `<video src="/signed/clip.mp4?token=t${hit}"></video>`).body) },
      '/signed/clip.mp4': {
        handler: (req: IncomingMessage, res: ServerResponse) => {
          const token = new URL(req.url!, 'http://x').searchParams.get('token') ?? '';
          // The first token yt-dlp uses has expired; any later one (a fresh extraction) is good.
          const status = token === (signed[0]?.token ?? token) ? 403 : 200;
          signed.push({ token, status });
          if (status === 403) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('expired');
          serveRange(req, res, clip);
        },
      },
      '/members/video.html': {
        handler: (req, res) => {
          if (req.headers.cookie !== COOKIE) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('members only');
          res.writeHead(200, { 'content-type': 'text/html' }).end(page('Members only', '<video src="/clip.mp4"></video>').body);
        },
      },
    });
  },
});

const run = (path: string, type: 'http' | 'youtube' = 'http') => runToEnd(fx.runtime, { source: { type, url: server.url(path) } }, join(fx.dir, 'out'));

/** Every file under a folder, read as text (the runtime's logs). */
function allText(root: string): string {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'latin1'))
    .join('\n');
}

describe('platform pages through yt-dlp', () => {
  it('a page with a <video> tag: the media, and the page\'s metadata from yt-dlp\'s info', async () => {
    const { record, out } = await run('/watch/video.html');
    expect(record.error).toBeNull();
    expect(record.checkpoints.classify).toMatchObject({ kind: 'platform' });
    expect(record.checkpoints.extract).toMatchObject({ info: { key: expect.stringMatching(/source-info\.json$/) } });
    expect(Math.abs(probeDuration(join(out, 'source.mp4')) - SECONDS)).toBeLessThan(0.3);
    const metadata = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    expect(metadata.source).toMatchObject({ title: expect.stringContaining('A test clip'), originalUrl: server.url('/watch/video.html'), id: expect.any(String) });
  });

  it('a page that embeds an HLS manifest: its segments, joined', async () => {
    const before = server.hits.get('/hls/seg001.ts') ?? 0;
    const { record, out } = await run('/watch/hls.html');
    expect(record.error).toBeNull();
    expect(probeStreams(join(out, 'source.mp4')).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(Math.abs(probeDuration(join(out, 'source.mp4')) - SECONDS)).toBeLessThan(0.3);
    expect(server.hits.get('/hls/seg001.ts')).toBe(before + 1);
  });

  it('a page that embeds DASH: separate video and audio streams handed to merge, muxed without re-encoding', async () => {
    const { record, out } = await run('/watch/dash.html');
    expect(record.error).toBeNull();
    expect(record.checkpoints.extract).toMatchObject({ audio: { key: expect.stringMatching(/original-audio$/) } });
    expect(probeStreams(join(out, 'source.mp4')).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const metadata = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    expect(metadata.processing).toMatchObject({ reencoded: false });
  });

  it('runs every worker step under bubblewrap, as Fargate runs the task: read-only root, only scratch writable, user 1000', () => {
    expect(fx.runtime.sandboxed).toBe(true);
  });

  it('takes the best format within MEDIA_INGEST_MAX_HEIGHT', async () => {
    const best = await run('/watch/ladder.html');
    expect(probeStreams(join(best.out, 'source.mp4')).find((s) => s.codec_type === 'video')).toMatchObject({ height: 240 });
    // A redeploy with the cap: later jobs take it.
    await fx.runtime.reconfigure({}, { MEDIA_INGEST_MAX_HEIGHT: '200' });
    const restore = () => fx.runtime.reconfigure({});
    const capped = await run('/watch/ladder.html').finally(restore);
    expect(capped.record.error).toBeNull();
    expect(probeStreams(join(capped.out, 'source.mp4')).find((s) => s.codec_type === 'video')).toMatchObject({ height: 120 });
  });

  it('403 on an expired signed URL mid-download: extracted again, and the fresh URL succeeds', async () => {
    const { record } = await run('/watch/signed.html');
    expect(record.error).toBeNull();
    // The classify probe, the first extraction and the second one.
    expect(server.hits.get('/watch/signed.html')).toBe(3);
    expect(signed[0]!.status).toBe(403);
    const fresh = signed.filter((s) => s.status === 200);
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((s) => s.token !== signed[0]!.token)).toBe(true);
  });

  it('a cookies file from configuration reaches the site (type "youtube": no probe, straight to yt-dlp), and is never logged', async () => {
    const { record } = await run('/members/video.html', 'youtube');
    expect(record.checkpoints.classify).toMatchObject({ kind: 'platform' });
    expect(record.error).toBeNull();
    expect(allText(join(fx.dir, 'data'))).not.toContain('cookie-value-never-logged');
  });

  it('a page without media fails with UnsupportedSource saying why', async () => {
    const { record } = await run('/watch/nothing.html');
    expect(record.status).toBe('FAILED');
    expect(record.error).toMatchObject({ code: 'UnsupportedSource', message: expect.stringContaining('extractor') });
  });
});
