import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEgressProxy } from '../../../core/egress-proxy.js';
import {
  ExtractionFailedError,
  MediaIngestError,
  SourceForbiddenError,
  SourceNotFoundError,
  SourceUnavailableError,
  StepTimeoutError,
  UnsafeUrlError,
  UnsupportedSourceError,
} from '../../../core/errors.js';
import { policyOf } from '../../../core/http.js';
import { ORIGINAL_AUDIO_NAME, ORIGINAL_NAME } from '../../../core/storage.js';
import { checkBytes, checkDuration } from '../../../core/limits.js';
import { logger } from '../../../core/logger.js';
import { retry } from '../../../core/retry.js';
import { sanitiseText, sanitiseUrl } from '../../../core/sanitise.js';
import type { StepContext } from '../context.js';
import { ToolError, toolFailure } from '../tools/run.js';
import { type YtdlpInfo, type YtdlpOptions, ytdlpExtract } from '../tools/ytdlp.js';
import type { Downloaded } from './downloaded.js';
import { downloadFormats, type FetchWhole } from './formats.js';

/** What yt-dlp's last words mean, as a stable error. */
function ytdlpError(err: ToolError, url: string): MediaIngestError {
  const text = err.stderrTail.join('\n');
  const last = err.stderrTail.at(-1);
  if (err.timedOut) return toolFailure(StepTimeoutError, `yt-dlp did not finish in time for ${url}`, err);
  if (/Unsupported URL/i.test(text)) {
    return toolFailure(UnsupportedSourceError, `no media found at ${url}: no yt-dlp extractor (the generic one included) claims it`, err);
  }
  if (/HTTP Error 40[13]|HTTP Error 410|Sign in|login|private video|members-only/i.test(text)) {
    return toolFailure(SourceForbiddenError, `the source refused access: ${last ?? ''}`, err);
  }
  if (/HTTP Error 404|Video unavailable|not available|has been removed/i.test(text)) {
    return toolFailure(SourceNotFoundError, `the source is gone: ${last ?? ''}`, err);
  }
  if (/HTTP Error (429|5\d\d)|timed out|Connection (refused|reset)|Temporary failure|Unable to connect/i.test(text)) {
    return toolFailure(SourceUnavailableError, `the source is unavailable: ${last ?? ''}`, err);
  }
  return toolFailure(ExtractionFailedError, `yt-dlp could not fetch ${url}: ${last ?? err.message}`, err);
}

/** Duration and size limits, from what the extractor says, before anything is downloaded. */
function checkLimits(ctx: StepContext, info: YtdlpInfo): void {
  if (info._type === 'playlist') throw new UnsupportedSourceError('the URL is a playlist, not one video');
  if (info.duration) checkDuration(ctx.config.MEDIA_INGEST_MAX_DURATION_SECONDS, info.duration);
  const formats = info.requested_formats?.length ? info.requested_formats : [info];
  const bytes = formats.reduce((n, f) => n + (f.filesize ?? f.filesize_approx ?? 0), 0);
  checkBytes(ctx.config, bytes, 'the source is about');
}

/** The source metadata kept from yt-dlp's info: a few normalised fields, never its signed format URLs. */
function sourceInfo(info: YtdlpInfo): Record<string, string | number | null> {
  const text = (v: string | null | undefined) => (v ? sanitiseText(v) : null);
  return {
    id: text(info.id),
    title: text(info.title),
    uploader: text(info.uploader ?? info.channel),
    duration: info.duration ?? null,
    upload_date: text(info.upload_date),
    webpage_url: sanitiseUrl(info.webpage_url),
    extractor: text(info.extractor),
  };
}

/** One extraction and download: the chosen formats, each to its own file, fetched at the same time. */
async function attempt(ctx: StepContext, url: string, options: YtdlpOptions, fetchWhole: FetchWhole): Promise<Downloaded> {
  const { info, raw } = await ytdlpExtract(url, ctx.config.MEDIA_INGEST_MAX_HEIGHT, options);
  checkLimits(ctx, info);
  const infoFile = join(ctx.scratch, 'yt-dlp.info.json');
  await writeFile(infoFile, raw);
  const formats = info.requested_formats?.length ? info.requested_formats : [info];
  // yt-dlp lists video before audio in a "video+audio" selection.
  const audioIndex = formats.length > 1 ? formats.findIndex((f) => f.vcodec === 'none') : -1;
  const videoIndex = audioIndex === 0 ? 1 : 0;
  // One staged name a format: two formats never feed one upload, whatever yt-dlp says of their codecs.
  const named = formats.map((f, i) => ({ ...f, name: i === videoIndex ? ORIGINAL_NAME : ORIGINAL_AUDIO_NAME }));
  const files = await downloadFormats(ctx, infoFile, named, options, fetchWhole);
  const metadataPath = join(ctx.scratch, 'source-info.json');
  await writeFile(metadataPath, JSON.stringify(sourceInfo(info), null, 2));
  return {
    source: files[videoIndex]!,
    ...(audioIndex >= 0 ? { audio: files[audioIndex]! } : {}),
    info: metadataPath,
  };
}

/**
 * A page yt-dlp knows (platforms and the generic extractor): extracts the best MP4-compatible formats under the height
 * cap, downloads them (a format that is one plain file by `fetchWhole`'s parallel ranges, the others by yt-dlp through
 * the egress proxy), and keeps the source's metadata. A refusal mid-download (an expired signed URL) gets a fresh
 * extraction, `MEDIA_INGEST_PLATFORM_ATTEMPTS` times at most.
 */
export async function extractPlatform(ctx: StepContext, url: string, fetchWhole: FetchWhole): Promise<Downloaded> {
  const proxy = await startEgressProxy(policyOf(ctx.config));
  try {
    // yt-dlp writes its cookie jar back on exit: it gets a copy, and the path is never logged.
    let cookiesFile: string | undefined;
    if (ctx.config.MEDIA_INGEST_COOKIES_FILE) {
      cookiesFile = join(ctx.scratch, 'cookies.txt');
      await copyFile(ctx.config.MEDIA_INGEST_COOKIES_FILE, cookiesFile);
    }
    const options: YtdlpOptions = { proxy: proxy.url, cookiesFile, timeoutMs: ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS, cwd: ctx.scratch };
    // A refusal (an expired signed URL, most often) may be cured by a fresh extraction; nothing else is.
    let refused: SourceForbiddenError | undefined;
    return await retry(
      async () => {
        refused = undefined;
        try {
          return await attempt(ctx, url, options, fetchWhole);
        } catch (err) {
          if (proxy.refusals.length) throw new UnsafeUrlError(`the egress policy refused ${proxy.refusals[0]}`);
          // yt-dlp's refusals and our own downloader's (a 403 to a format URL) alike.
          const mapped = err instanceof ToolError ? ytdlpError(err, url) : err;
          if (mapped instanceof SourceForbiddenError) refused = mapped;
          throw mapped;
        }
      },
      {
        attempts: ctx.config.MEDIA_INGEST_PLATFORM_ATTEMPTS,
        retryable: () => refused !== undefined,
        onRetry: (_, n) => logger.warn('source refused a download; extracting again for fresh URLs', { attempt: n, reason: refused?.message }),
      },
    );
  } finally {
    await proxy.close();
  }
}
