import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ExtractionFailedError } from '../../../core/errors.js';
import { probeRanges } from '../../../core/http.js';
import { checkBytes } from '../../../core/limits.js';
import type { StepContext } from '../context.js';
import { downloadTogether, type Together } from './together.js';
import { type YtdlpFormat, type YtdlpOptions, ytdlpDownload } from '../tools/ytdlp.js';

export type Probe = Awaited<ReturnType<typeof probeRanges>>;

/** How extract fetches one whole file by parallel ranges, staged as `name` while it downloads. */
export type FetchWhole = (ctx: StepContext, probe: Probe, dest: string, name: string) => Promise<void>;

/** Protocols of a format that is one file behind one URL (HLS, DASH and other fragments have their own). */
const PLAIN = new Set(['http', 'https']);
/** Headers our fetcher sets itself (ranges, identity encoding), or that fetch refuses from a caller. */
const OWN_HEADERS = new Set(['range', 'accept-encoding', 'host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'te', 'upgrade', 'expect']);
/** Our fetcher sends its headers to every redirect hop: credentials stay with yt-dlp, whose cookie jar scopes them per host. */
const CREDENTIALS = new Set(['cookie', 'authorization', 'proxy-authorization']);

/** A format our own downloader fetches (one plain file, no credentials): its URL and the headers its server expects. */
export function plainFile(format: YtdlpFormat): { url: string; headers: Record<string, string> } | undefined {
  if (!format.url || !PLAIN.has(format.protocol ?? '') || format.fragments?.length || format.cookies) return undefined;
  const headers = Object.entries(format.http_headers ?? {});
  if (headers.some(([name]) => CREDENTIALS.has(name.toLowerCase()))) return undefined;
  return { url: format.url, headers: Object.fromEntries(headers.filter(([name]) => !OWN_HEADERS.has(name.toLowerCase()))) };
}

/** A fragmented format (HLS, DASH, …), or one with credentials, by yt-dlp with concurrent fragments: the file it wrote. */
async function byYtdlp(ctx: StepContext, infoFile: string, format: YtdlpFormat, i: number, options: YtdlpOptions, together: Together): Promise<string> {
  await ytdlpDownload(infoFile, format.format_id ?? 'best', join(ctx.scratch, `stream-${i}.%(ext)s`), {
    ...options,
    fragments: ctx.input.options.connections,
    signal: together.signal,
    onProgress: (bytes, total) => {
      try {
        ctx.progress(bytes, total);
      } catch (err) {
        // yt-dlp is killed by the signal: the step fails with this (TooLarge, or another download's failure).
        together.fail(err);
      }
    },
  });
  const name = (await readdir(ctx.scratch)).find((n) => n.startsWith(`stream-${i}.`));
  if (!name) throw new ExtractionFailedError('yt-dlp reported success but wrote no file');
  return join(ctx.scratch, name);
}

/**
 * Downloads the formats yt-dlp chose, all at the same time, each to its own file (returned in the same order). A
 * format that is one plain file is fetched like a direct source (probed, then parallel ranges through the egress
 * policy, staged as its `names` entry while it downloads); the others by yt-dlp. A refusal (403: an expired signed URL) comes out as
 * SourceForbidden for the caller to extract again. Signed format URLs are never stored or logged.
 */
export async function downloadFormats(
  ctx: StepContext,
  infoFile: string,
  formats: Array<YtdlpFormat & { name: string }>,
  options: YtdlpOptions,
  fetchWhole: FetchWhole,
): Promise<string[]> {
  const probes = await Promise.all(formats.map(plainFile).map((plain) => plain && probeRanges(ctx.config, plain.url, plain.headers)));
  // The probes told the sizes: past the byte limit, refused before any media byte comes.
  checkBytes(ctx.config, probes.reduce((n, p) => n + (p?.bytes ?? 0), 0), 'the chosen formats are');
  return downloadTogether(
    ctx,
    formats.map((format, i) => async (c, together) => {
      const probe = probes[i];
      if (!probe) return byYtdlp(c, infoFile, format, i, options, together);
      const dest = join(ctx.scratch, `stream-${i}`);
      await fetchWhole(c, probe, dest, format.name);
      return dest;
    }),
  );
}
