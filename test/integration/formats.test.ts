import { join } from 'node:path';
import { downloadDirect } from '../../containers/media-worker/sources/direct.js';
import { downloadFormats, type FetchWhole, plainFile } from '../../containers/media-worker/sources/formats.js';
import type { YtdlpFormat } from '../../containers/media-worker/tools/ytdlp.js';
import { withScratch } from '../fixtures/runtime.js';
import type { StepContext } from '../../containers/media-worker/context.js';
import { extractContext } from '../fixtures/step-context.js';
import { type Bytes, type ForbiddenServer, type Served, serveRange, type TestServer } from '../fixtures/server.js';

const MB = 1024 * 1024;
const VIDEO: Bytes = { length: 32 * MB, subarray: (start, end) => Buffer.alloc(end - start, 1) };
const AUDIO: Bytes = { length: 512 * 1024, subarray: (start, end) => Buffer.alloc(end - start, 2) };
/** Each video response, as it goes out: how much of the video left the server. */
const videoServed: Served[] = [];
let server: TestServer;
let forbidden: ForbiddenServer;

const scratch = withScratch('formats', {
  setup: async ({ serve, forbidden: startForbidden }) => {
    forbidden = await startForbidden();
    server = await serve({
      // A CDN edge's per-connection cap: the whole video takes seconds, so a download that goes on is seen.
      '/video.mp4': { handler: (req, res) => void videoServed.push(serveRange(req, res, VIDEO, { rate: 4 * MB })) },
      '/audio.m4a': { file: AUDIO },
      // Answers the probe, then drops every download.
      '/dropped.m4a': { handler: (req, res) => (req.headers.range === 'bytes=0-0' ? void serveRange(req, res, AUDIO) : res.destroy()) },
    });
  },
});

const context = (env: Record<string, string> = {}) => extractContext(server.url('/'), 4, scratch.dir, env);

const plain = (path: string, extra: Partial<YtdlpFormat> = {}): YtdlpFormat => ({ format_id: path, url: server.url(path), protocol: 'http', ...extra });
/** No staging target: these tests are about the formats, not staging. */
const fetchWhole: FetchWhole = async (ctx, probe, dest) => void (await downloadDirect(ctx, probe, dest));
const download = (ctx: StepContext, formats: YtdlpFormat[]) =>
  downloadFormats(ctx, join(scratch.dir, 'unused.info.json'), formats.map((f, i) => ({ ...f, name: `stream-${i}` })), { proxy: 'http://127.0.0.1:9', timeoutMs: 10_000, cwd: scratch.dir }, fetchWhole);

describe("a platform page's chosen formats", () => {
  it('takes only plain single files without credentials for its own downloader, with the headers its own fetcher does not set', () => {
    const headers = { 'User-Agent': 'UA', Referer: 'https://page.example/', Range: 'bytes=5-', 'Accept-Encoding': 'gzip' };
    expect(plainFile({ url: 'https://cdn.example/v.mp4', protocol: 'https', http_headers: headers })).toEqual({
      url: 'https://cdn.example/v.mp4',
      headers: { 'User-Agent': 'UA', Referer: 'https://page.example/' },
    });
    expect(plainFile({ url: 'https://cdn.example/v.m3u8', protocol: 'm3u8_native' })).toBeUndefined();
    expect(plainFile({ url: 'https://cdn.example/v.mp4', protocol: 'http_dash_segments', fragments: [{ path: 'a' }] })).toBeUndefined();
    expect(plainFile({ url: 'https://cdn.example/v.mp4', protocol: 'https', cookies: 'session=x; Domain=.cdn.example; Path=/' })).toBeUndefined();
    expect(plainFile({ url: 'https://cdn.example/v.mp4', protocol: 'https', http_headers: { Cookie: 'session=x' } })).toBeUndefined();
  });

  it('refuses two files whose probed sizes add up past MEDIA_INGEST_MAX_BYTES (each under it) before any media byte', async () => {
    const before = videoServed.length;
    const ctx = context({ MEDIA_INGEST_MAX_BYTES: String(VIDEO.length + AUDIO.length - 1) });
    await expect(download(ctx, [plain('/video.mp4'), plain('/audio.m4a')])).rejects.toMatchObject({ name: 'TooLarge' });
    // The probe alone.
    expect(videoServed.slice(before).map((s) => s.end - s.start + 1)).toEqual([1]);
  });

  it('reports the sum of both files on one progress, to their total', async () => {
    const reports: Array<[number, number | undefined]> = [];
    const files = await download({ ...context(), progress: (bytes, total) => reports.push([bytes, total]) }, [plain('/video.mp4'), plain('/audio.m4a')]);
    expect(files).toEqual([join(scratch.dir, 'stream-0'), join(scratch.dir, 'stream-1')]);
    expect(reports.at(-1)).toEqual([VIDEO.length + AUDIO.length, VIDEO.length + AUDIO.length]);
    expect(reports.every(([bytes], i) => i === 0 || bytes >= reports[i - 1]![0])).toBe(true);
  }, 30_000);

  it('holds a format URL to the egress policy: an address it refuses is UnsafeUrl, never reached', async () => {
    const format = { format_id: 'x', url: `${forbidden.url}/video.mp4`, protocol: 'http' };
    await expect(download(context(), [format])).rejects.toMatchObject({ name: 'UnsafeUrl' });
    expect(forbidden.hits()).toBe(0);
  });

  it('stops the video when the audio fails (a dropped connection), and fails with the audio\'s error', async () => {
    const before = videoServed.length;
    await expect(download(context(), [plain('/video.mp4'), plain('/dropped.m4a')])).rejects.toMatchObject({ name: 'SourceUnavailable' });
    const sent = videoServed.slice(before).reduce((n, s) => n + s.sent, 0);
    expect(sent).toBeLessThan(VIDEO.length / 4);
  });
});
