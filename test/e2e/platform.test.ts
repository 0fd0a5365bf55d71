import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { runToEnd } from '../fixtures/jobs.js';
import { dash, dashLadder, ff, hls, keyframedClip, probeDuration, probeStreams } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { setEnv } from '../fixtures/env.js';
import { type Bytes, folderRoutes, type Route, serveRange, type TestServer } from '../fixtures/server.js';

let server: TestServer;
const SECONDS = 6;
const COOKIE = 'session=cookie-value-never-logged';
/** The site the cookies file is for (a name for 127.0.0.1): the other pages' formats carry no cookie. */
const MEMBERS = 'members.localhost';
const page = (title: string, body: string) => ({ status: 200, contentType: 'text/html; charset=utf-8', body: `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>` });
/** Each signed media request, with the token it carried, its range and what it was answered. */
const signed: Array<{ token: string; range: string; status: number }> = [];
/** The probe of a file our own downloader makes before its parallel ranges (yt-dlp's downloader never asks for it). */
const PROBE = 'bytes=0-0';
/** A CDN edge's cap per connection: one stream of the big clip takes over a second, parallel ranges a fraction. */
const RATE = 4_000_000;

/** What the server saw of one file: each request's Range and Referer, and the most requests open at once. */
interface Seen {
  ranges: string[];
  referers: string[];
  open: number;
  most: number;
}
const seen = (): Seen => ({ ranges: [], referers: [], open: 0, most: 0 });
const big: Seen = seen();
const apartVideo: Seen = seen();
const apartAudio: Seen = seen();
const huge: Seen = seen();
/** Bytes made on demand, past the default MEDIA_INGEST_MAX_BYTES (10 GiB). */
const HUGE: Bytes = { length: 11 * 1024 ** 3, subarray: (start, end) => Buffer.alloc(end - start) };

/** Serves a file at `RATE` per connection, noting each request in `log`. */
function recorded(file: string | Bytes, log: Seen): Route {
  return {
    handler: (req, res) => {
      log.ranges.push(req.headers.range ?? 'none');
      log.referers.push(req.headers.referer ?? 'none');
      log.most = Math.max(log.most, ++log.open);
      res.on('close', () => (log.open -= 1));
      serveRange(req, res, file, { rate: RATE });
    },
  };
}
const downloads = (log: Seen) => log.ranges.filter((r) => r !== PROBE);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** Two single files, video and audio apart (a DASH manifest of plain BaseURLs, as platforms serve progressive streams). */
const APART_MPD = `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT4S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period>
<AdaptationSet mimeType="video/mp4"><Representation id="v" codecs="avc1.64001e" bandwidth="9000000" width="320" height="240"><BaseURL>video.mp4</BaseURL></Representation></AdaptationSet>
<AdaptationSet mimeType="audio/mp4"><Representation id="a" codecs="mp4a.40.2" bandwidth="128000"><BaseURL>audio.m4a</BaseURL></Representation></AdaptationSet>
</Period></MPD>`;
let bigClip: string;
let apart: { video: string; audio: string };

const fx = withRuntime('platform', {
  runtime: { allowHosts: ['127.0.0.1', MEMBERS] },
  setup: async ({ dir, serve, atEnd }) => {
    const clip = keyframedClip(join(dir, 'clip.mp4'), SECONDS);
    hls(clip, join(dir, 'hls'));
    dash(clip, join(dir, 'dash'), '-use_template', '1', '-use_timeline', '0');
    // Two video heights with the audio apart, for the height cap.
    dashLadder(clip, join(dir, 'ladder'));
    const cookies = join(dir, 'cookies.txt');
    writeFileSync(cookies, `# Netscape HTTP Cookie File\n${MEMBERS}\tFALSE\t/\tFALSE\t0\tsession\tcookie-value-never-logged\n`);
    atEnd(setEnv({ MEDIA_INGEST_COOKIES_FILE: cookies }));
    // 4 s of noise: over 4 MB, several parts of our downloader.
    bigClip = join(dir, 'big.mp4');
    ff('-f', 'lavfi', '-i', 'testsrc2=duration=4:size=320x240:rate=25,noise=alls=60:allf=t', '-f', 'lavfi', '-i', 'sine=duration=4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', bigClip);
    apart = { video: join(dir, 'video.mp4'), audio: join(dir, 'audio.m4a') };
    ff('-i', bigClip, '-map', '0:v', '-c', 'copy', '-movflags', '+faststart', apart.video);
    ff('-i', bigClip, '-map', '0:a', '-c', 'copy', '-movflags', '+faststart', apart.audio);

    server = await serve({
      '/clip.mp4': { file: clip },
      ...folderRoutes(dir, 'hls'),
      ...folderRoutes(dir, 'dash'),
      ...folderRoutes(dir, 'ladder'),
      '/watch/ladder.html': page('Two heights', '<video controls><source src="/ladder/manifest.mpd" type="application/dash+xml"></video>'),
      '/watch/video.html': page('A test clip', '<video controls src="/clip.mp4"></video>'),
      '/watch/progressive.html': page('One progressive MP4', '<video controls src="/progressive/big.mp4"></video>'),
      '/progressive/big.mp4': recorded(bigClip, big),
      '/watch/apart.html': page('Video and audio apart', '<video controls><source src="/apart/manifest.mpd" type="application/dash+xml"></video>'),
      '/apart/manifest.mpd': { status: 200, contentType: 'application/dash+xml', body: APART_MPD },
      '/apart/video.mp4': recorded(apart.video, apartVideo),
      '/apart/audio.m4a': recorded(apart.audio, apartAudio),
      '/watch/huge.html': page('Too big', '<video controls src="/huge/big.mp4"></video>'),
      '/huge/big.mp4': recorded(HUGE, huge),
      '/watch/hls.html': page('An HLS clip', '<video controls><source src="/hls/index.m3u8" type="application/x-mpegURL"></video>'),
      '/watch/dash.html': page('A DASH clip', '<video controls><source src="/dash/manifest.mpd" type="application/dash+xml"></video>'),
      '/watch/nothing.html': page('Nothing to see', '<p>No media on this page.</p>'),
      // Each extraction of this page hands out a new token; the first one expires between the probe and the download.
      '/watch/signed.html': {
        handler: (_req, res, hit) => void res.writeHead(200, { 'content-type': 'text/html' }).end(page('Signed', `<video src="/signed/big.mp4?token=secret-${hit}-never-stored"></video>`).body),
      },
      '/signed/big.mp4': {
        handler: (req: IncomingMessage, res: ServerResponse) => {
          const token = new URL(req.url!, 'http://x').searchParams.get('token') ?? '';
          const range = req.headers.range ?? 'none';
          // The first token answers the probe, then has expired; any later one (a fresh extraction) is good.
          const status = token === (signed[0]?.token ?? token) && range !== PROBE ? 403 : 200;
          signed.push({ token, range, status });
          if (status === 403) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('expired');
          serveRange(req, res, bigClip);
        },
      },
      '/members/video.html': {
        handler: (req, res) => {
          if (req.headers.cookie !== COOKIE) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('members only');
          res.writeHead(200, { 'content-type': 'text/html' }).end(page('Members only', '<video src="/members/clip.mp4"></video>').body);
        },
      },
      '/members/clip.mp4': {
        handler: (req, res) => {
          if (req.headers.cookie !== COOKIE) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('members only');
          serveRange(req, res, clip);
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

  it('a page whose format is one MP4 file: fetched by parallel range requests with the page\'s headers, the exact bytes staged, progress to the total', async () => {
    const { record } = await run('/watch/progressive.html');
    expect(record.error).toBeNull();
    expect(downloads(big).length).toBeGreaterThan(1);
    expect(big.most).toBeGreaterThan(1);
    // yt-dlp's headers for the format (the page as Referer) go with every request.
    expect(new Set(big.referers)).toEqual(new Set([server.url('/watch/progressive.html')]));
    const size = readFileSync(bigClip).length;
    expect(record.checkpoints.extract).toMatchObject({ source: { bytes: size, sha256: sha256(bigClip) } });
    expect(record.progress).toMatchObject({ step: 'extract', bytes: size, totalBytes: size });
  });

  it('video and audio offered as two single files: each fetched by our own downloader at the same time, handed to merge apart', async () => {
    const { record, out } = await run('/watch/apart.html');
    expect(record.error).toBeNull();
    expect(downloads(apartVideo).length).toBeGreaterThan(1);
    expect(apartAudio.ranges[0]).toBe(PROBE);
    expect(record.checkpoints.extract).toMatchObject({ source: { sha256: sha256(apart.video) }, audio: { sha256: sha256(apart.audio) } });
    const total = readFileSync(apart.video).length + readFileSync(apart.audio).length;
    expect(record.progress).toMatchObject({ bytes: total, totalBytes: total });
    expect(probeStreams(join(out, 'source.mp4')).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  });

  it('a single-file format past MEDIA_INGEST_MAX_BYTES: TooLarge from the probed size, before any media byte is fetched', async () => {
    const { record } = await run('/watch/huge.html');
    expect(record.status).toBe('FAILED');
    expect(record.error).toMatchObject({ code: 'TooLarge', message: expect.stringContaining(String(HUGE.length)) });
    expect(huge.ranges).toEqual([PROBE]);
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
    expect(metadata.processing).toEqual({ path: 'remuxed', reason: 'the audio is served apart' });
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

  it('403 on an expired signed format URL mid-download: extracted again, the fresh URL downloaded by ranges, no token stored', async () => {
    const { record } = await run('/watch/signed.html');
    expect(record.error).toBeNull();
    // The classify probe, the first extraction and the second one.
    expect(server.hits.get('/watch/signed.html')).toBe(3);
    const expired = signed[0]!.token;
    expect(signed.filter((s) => s.token === expired).map((s) => s.status)).toContain(403);
    const fresh = signed.filter((s) => s.token !== expired);
    expect(fresh.every((s) => s.status === 200)).toBe(true);
    expect(fresh.filter((s) => s.range !== PROBE).length).toBeGreaterThan(1);
    expect(record.checkpoints.extract).toMatchObject({ source: { sha256: sha256(bigClip) } });
    const stored = allText(join(fx.dir, 'data'));
    for (const token of new Set(signed.map((s) => s.token))) expect(stored).not.toContain(token);
  });

  it('a cookies file from configuration reaches the site and its media (type "youtube": no probe, straight to yt-dlp), and is never logged', async () => {
    const { record } = await runToEnd(fx.runtime, { source: { type: 'youtube', url: `http://${MEMBERS}:${server.port}/members/video.html` } }, join(fx.dir, 'out'));
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
