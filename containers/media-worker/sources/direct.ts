import { open } from 'node:fs/promises';
import type { StepContext } from '../context.js';
import { bodyError, safeFetch, statusError } from '../../../core/http.js';
import { SourceUnavailableError, TooLargeError } from '../../../core/errors.js';
import type { ClassifyCheckpoint } from '../../../core/job.js';
import { checkBytes, downloadBudget } from '../../../core/limits.js';
import { inLanes } from '../../../core/lanes.js';
import { retry } from '../../../core/retry.js';
import type { PartStore } from '../parts.js';

/** Largest part: the unit of resume, so a killed worker loses at most this much per lane. */
const MAX_PART_BYTES = 16 * 1024 * 1024;
/** Below this a file is fetched as one stream: splitting would cost more requests than it saves. */
const MIN_PART_BYTES = 1024 * 1024;
/** Rounds of parts per lane at least: each round's parts are kept in staging while the next ones download. */
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

interface Range {
  start: number;
  end: number;
}

function splitParts(size: number, part: number): Range[] {
  const ranges: Range[] = [];
  for (let start = 0; start < size; start += part) ranges.push({ start, end: Math.min(size, start + part) - 1 });
  return ranges;
}

/**
 * Streams a direct file to `dest`: fixed-size parts fetched by parallel range requests when the server supports
 * them, else one stream. Memory stays flat: each chunk is written at its offset before the next is read. With a
 * part store, finished parts are kept and a later attempt restores them instead of fetching them again, and a part
 * whose connection is cut resumes from its last byte.
 */
export async function downloadDirect(
  ctx: StepContext,
  source: Pick<ClassifyCheckpoint, 'url' | 'acceptRanges' | 'bytes'>,
  dest: string,
  store?: PartStore,
): Promise<number> {
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
      const parts = splitParts(source.bytes, partSize(source.bytes, lanes));
      const kept = (await store?.list()) ?? new Map<number, number>();
      // A finished part is kept in staging while the lane goes on with the next one.
      const saves: Array<Promise<unknown>> = [];
      let saveError: unknown;
      await inLanes([...parts.keys()], lanes, async (i) => {
        const part = parts[i]!;
        const size = part.end - part.start + 1;
        if (kept.get(i) === size && store) {
          count(await store.restore(i, file, part.start), source.bytes);
          return;
        }
        await fetchPart(ctx, source.url, part, file, signal, (n) => count(n, source.bytes));
        if (store) saves.push(store.save(i, dest, part.start, part.end).catch((err: unknown) => (saveError ??= err)));
      }).finally(() => Promise.all(saves));
      if (saveError) throw saveError;
    } else {
      await fetchWhole(ctx, source.url, file, signal, count);
    }
  } finally {
    await file.close();
  }
  return budget.received();
}

async function writeBody(
  body: ReadableStream<Uint8Array>,
  url: string,
  file: Awaited<ReturnType<typeof open>>,
  offset: number,
  onBytes: (n: number) => void,
): Promise<number> {
  let position = offset;
  try {
    for await (const chunk of body) {
      await file.write(chunk, 0, chunk.length, position);
      position += chunk.length;
      onBytes(chunk.length);
    }
  } catch (err) {
    if (err instanceof TooLargeError) throw err;
    throw bodyError(err, url);
  }
  return position - offset;
}

async function fetchWhole(
  ctx: StepContext,
  rawUrl: string,
  file: Awaited<ReturnType<typeof open>>,
  signal: AbortSignal,
  count: (n: number, total: number | undefined) => void,
): Promise<void> {
  const { response, url } = await safeFetch(ctx.config, rawUrl, { signal });
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    throw statusError(response.status, url);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  try {
    checkBytes(ctx.config, declared, 'source declares');
  } catch (err) {
    await response.body.cancel();
    throw err;
  }
  const total = Number.isFinite(declared) ? declared : undefined;
  let written = 0;
  try {
    written = await writeBody(response.body, url, file, 0, (n) => {
      written += n;
      count(n, total);
    });
  } catch (err) {
    // Say what a lying or cut connection did, rather than the socket's words.
    if (total !== undefined && err instanceof SourceUnavailableError) {
      throw new SourceUnavailableError(`the source closed the connection after ${written} of ${total} bytes (Content-Length)`, { cause: err });
    }
    throw err;
  }
}

/** One part, by range requests; a cut connection resumes from the last byte written, a few times. */
async function fetchPart(
  ctx: StepContext,
  rawUrl: string,
  part: Range,
  file: Awaited<ReturnType<typeof open>>,
  signal: AbortSignal,
  onBytes: (n: number) => void,
): Promise<void> {
  let at = part.start;
  let before = at;
  await retry(
    async () => {
      before = at;
      const { response, url } = await safeFetch(ctx.config, rawUrl, { headers: { range: `bytes=${at}-${part.end}` }, signal });
      if (response.status !== 206 || !response.body) {
        await response.body?.cancel();
        throw statusError(response.status, url);
      }
      // `at` moves with every chunk written, so a cut connection resumes exactly where it stopped.
      await writeBody(response.body, url, file, at, (n) => {
        at += n;
        onBytes(n);
      });
      if (at > part.end) return;
      throw new SourceUnavailableError(`range ${part.start}-${part.end} ended at byte ${at}`);
    },
    { attempts: PART_ATTEMPTS, retryable: (err) => err instanceof SourceUnavailableError, progressed: () => at > before },
  );
}
