import { open } from 'node:fs/promises';
import type { StepContext } from '../context.js';
import { SourceUnavailableError } from '../../../core/errors.js';
import type { ClassifyCheckpoint } from '../../../core/job.js';
import { checkBytes, downloadBudget } from '../../../core/limits.js';
import { inLanes } from '../../../core/lanes.js';
import { retry } from '../../../core/retry.js';
import type { StagingTarget } from '../staging-target.js';
import { S3_MIN_PART_BYTES } from '../../../core/s3-rules.js';
import { openMedia, RangeMismatchError, type Span, streamBody, transient } from './media-fetch.js';

/** Largest part: a killed worker loses at most this much per lane (and what waits to make a 5 MiB upload part). */
const MAX_PART_BYTES = 16 * 1024 * 1024;
/** Below this a file is fetched as one stream: splitting would cost more requests than it saves. */
const MIN_PART_BYTES = 1024 * 1024;
/** Rounds of parts per lane at least: each round's parts go up to staging while the next ones download. */
const MIN_ROUNDS = 2;
/** Attempts in a row that bring no new byte before a part gives up; each resumes where the last one stopped. */
const PART_ATTEMPTS = 5;

/**
 * Parts of equal size, the same number for every lane, so all lanes finish together instead of a few straggling
 * with the last parts. Depends only on the size and the lane count, so every attempt of a job cuts the same parts.
 */
export function partSize(size: number, lanes: number): number {
  const rounds = Math.max(MIN_ROUNDS, Math.ceil(size / (lanes * MAX_PART_BYTES)));
  return Math.max(MIN_PART_BYTES, Math.ceil(size / (lanes * rounds)));
}

function splitParts(size: number, part: number): Span[] {
  const ranges: Span[] = [];
  for (let start = 0; start < size; start += part) ranges.push({ start, end: Math.min(size, start + part) - 1 });
  return ranges;
}

/**
 * Streams a direct file to `dest`: fixed-size parts fetched by parallel range requests when the server supports
 * them, else one stream. Memory stays flat: each chunk is written at its offset before the next is read. A part
 * whose connection is cut resumes from its last byte. With a staging target, finished parts go up as the staged
 * object's multipart upload while the rest download; a later attempt fetches only the parts no upload part holds.
 */
export async function downloadDirect(
  ctx: StepContext,
  // `headers`: what the file's server expects on every request besides (a platform format's Referer); `version`
  // tells one version of the file from another (ETag, size), so an upload begun on another is not resumed.
  source: Pick<ClassifyCheckpoint, 'url' | 'acceptRanges' | 'bytes'> & { headers?: Record<string, string>; version?: string },
  dest: string,
  target?: StagingTarget,
): Promise<number> {
  target?.forget();
  const file = await open(dest, 'w');
  // One byte budget and one deadline for the whole download, on top of the per-read idle timeout.
  const budget = downloadBudget(ctx.config);
  const { signal } = budget;
  const count = (n: number, total: number | undefined) => {
    budget.count(n);
    ctx.progress(budget.received(), total);
  };
  try {
    const lanes = ctx.input.options.connections;
    if (source.acceptRanges && source.bytes > MIN_PART_BYTES) {
      const size = partSize(source.bytes, lanes);
      const parts = splitParts(source.bytes, size);
      const upload = await target?.open(source.version ?? `${source.url}|${source.bytes}`, parts.length);
      if (upload) count(upload.keptBytes(), source.bytes);
      // Parts big enough to be upload parts on their own go up while they download: nothing waits for them at the end.
      const follows = size >= S3_MIN_PART_BYTES;
      await inLanes([...parts.keys()], lanes, async (i) => {
        const part = parts[i]!;
        if (upload?.kept(i)) return;
        const follower = follows ? upload?.follow(i, { path: dest, ...part }) : undefined;
        const wrote = (n: number) => {
          count(n, source.bytes);
          follower?.wrote(n);
        };
        await fetchPart(ctx, source.url, { ...part, of: source.bytes }, file, signal, wrote, source.headers).catch((err: unknown) => {
          follower?.fail(err as Error);
          throw err;
        });
        upload?.add(i, [{ path: dest, ...part }]);
      }).catch(async (err: unknown) => {
        await upload?.settle();
        throw err;
      });
      await upload?.finish(dest);
    } else {
      await fetchWhole(ctx, source.url, file, signal, count, source.headers);
    }
    // Whatever the answers said, the file must be the size the probe announced.
    const size = (await file.stat()).size;
    if (source.bytes && size !== source.bytes) throw new SourceUnavailableError(`the download holds ${size} bytes; the source announced ${source.bytes}`);
  } finally {
    await file.close();
  }
  return budget.received();
}

type File = Awaited<ReturnType<typeof open>>;

/** A 200 to a part's range: the server stopped serving ranges since the probe; the step's retry probes again. */
const rangesIgnored = (url: string) => new RangeMismatchError(`${new URL(url).host} answered a range request with the whole file (HTTP 200)`);

/** The file as one stream, when the server serves no ranges (or mis-serves them: the probe tells). */
async function fetchWhole(ctx: StepContext, rawUrl: string, file: File, signal: AbortSignal, count: (n: number, total: number | undefined) => void, headers?: Record<string, string>): Promise<void> {
  const media = await openMedia(ctx.config, rawUrl, undefined, signal, rangesIgnored, headers);
  if (media.length !== undefined) {
    try {
      checkBytes(ctx.config, media.length, 'source declares');
    } catch (err) {
      await media.body.cancel();
      throw err;
    }
  }
  let position = 0;
  await streamBody(media, async (chunk) => {
    await file.write(chunk, 0, chunk.length, position);
    position += chunk.length;
    count(chunk.length, media.length);
  });
}

/** One part, by range requests; a cut connection resumes from the last byte written, a few times. */
async function fetchPart(ctx: StepContext, rawUrl: string, part: Span, file: File, signal: AbortSignal, onBytes: (n: number) => void, headers?: Record<string, string>): Promise<void> {
  let at = part.start;
  let before = at;
  await retry(
    async () => {
      before = at;
      const media = await openMedia(ctx.config, rawUrl, { ...part, start: at }, signal, rangesIgnored, headers);
      try {
        // `at` moves with every chunk written, so a cut connection resumes exactly where it stopped.
        await streamBody(media, async (chunk) => {
          await file.write(chunk, 0, chunk.length, at);
          at += chunk.length;
          onBytes(chunk.length);
        });
      } catch (err) {
        // An answer that ran past its range may have been other bytes all along: none of it is kept.
        if (err instanceof RangeMismatchError) {
          onBytes(before - at);
          at = before;
        }
        throw err;
      }
    },
    { attempts: PART_ATTEMPTS, retryable: transient, progressed: () => at > before },
  );
}
