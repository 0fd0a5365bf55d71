import { z } from 'zod';
import { runTool } from './run.js';

/** What the worker reads of a format: its size, and how to fetch it without yt-dlp when it is one plain file. */
export const YtdlpFormatSchema = z.looseObject({
  format_id: z.string().optional(),
  filesize: z.number().nullish(),
  filesize_approx: z.number().nullish(),
  vcodec: z.string().nullish(),
  url: z.string().optional(),
  protocol: z.string().optional(),
  http_headers: z.record(z.string(), z.string()).nullish(),
  /** Cookies yt-dlp would send to `url` (newer versions; older ones put a Cookie header in http_headers). */
  cookies: z.string().nullish(),
  fragments: z.array(z.unknown()).nullish(),
});
export type YtdlpFormat = z.infer<typeof YtdlpFormatSchema>;

/** The fields of yt-dlp's info JSON the worker reads; the rest is passed back to yt-dlp untouched. One chosen format's fields are the info's own. */
export const YtdlpInfoSchema = YtdlpFormatSchema.extend({
  id: z.string().optional(),
  title: z.string().optional(),
  uploader: z.string().nullish(),
  channel: z.string().nullish(),
  duration: z.number().nullish(),
  upload_date: z.string().nullish(),
  webpage_url: z.string().optional(),
  extractor: z.string().optional(),
  _type: z.string().optional(),
  requested_formats: z.array(YtdlpFormatSchema.extend({ format_id: z.string() })).nullish(),
});
export type YtdlpInfo = z.infer<typeof YtdlpInfoSchema>;

export interface YtdlpOptions {
  proxy: string;
  cookiesFile?: string;
  timeoutMs: number;
  cwd: string;
}

/** Options every run gets: the egress proxy, no config files, no playlists, no colour; cookies only when given. */
function common(options: YtdlpOptions): string[] {
  return [
    '--ignore-config',
    '--no-playlist',
    '--no-color',
    '--proxy',
    options.proxy,
    '--socket-timeout',
    '30',
    ...(options.cookiesFile ? ['--cookies', options.cookiesFile] : []),
  ];
}

/** Best MP4-compatible streams up to `maxHeight` (separate video + m4a audio first), else anything, else the smallest. */
export function formatSelector(maxHeight: number): string {
  const h = `[height<=?${maxHeight}]`;
  return [`bv*${h}[ext=mp4]+ba[ext=m4a]`, `b${h}[ext=mp4]`, `bv*${h}+ba`, `b${h}`, 'wv*+ba', 'w'].join('/');
}

/** Runs the extractors (the generic one last) without downloading: the info JSON with the chosen formats. */
export async function ytdlpExtract(url: string, maxHeight: number, options: YtdlpOptions): Promise<{ info: YtdlpInfo; raw: string }> {
  const { stdout } = await runTool('yt-dlp', [...common(options), '--dump-single-json', '-f', formatSelector(maxHeight), '--', url], {
    timeoutMs: options.timeoutMs,
    cwd: options.cwd,
  });
  return { info: YtdlpInfoSchema.parse(JSON.parse(stdout)), raw: stdout };
}

const PROGRESS = /^PROGRESS (\d+|NA) (\d+|NA) (\d+|NA)$/;

/** Downloads one format of an extracted info JSON, with concurrent fragments, reporting bytes as they come. */
export async function ytdlpDownload(
  infoFile: string,
  formatId: string,
  output: string,
  options: YtdlpOptions & { fragments: number; signal: AbortSignal; onProgress: (bytes: number, total?: number) => void },
): Promise<void> {
  const args = [
    ...common(options),
    '--load-info-json',
    infoFile,
    '-f',
    formatId,
    '-o',
    output,
    '--concurrent-fragments',
    String(options.fragments),
    '--no-mtime',
    '--no-part',
    '--newline',
    '--progress-template',
    'download:PROGRESS %(progress.downloaded_bytes)s %(progress.total_bytes)s %(progress.total_bytes_estimate)s',
  ];
  await runTool('yt-dlp', args, {
    timeoutMs: options.timeoutMs,
    cwd: options.cwd,
    signal: options.signal,
    onLine: (line) => {
      const m = PROGRESS.exec(line.trim());
      if (!m || m[1] === 'NA') return;
      const total = m[2] !== 'NA' ? Number(m[2]) : m[3] !== 'NA' ? Number(m[3]) : undefined;
      options.onProgress(Number(m[1]), total);
    },
  });
}
