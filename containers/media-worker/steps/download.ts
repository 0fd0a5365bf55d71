import { open } from 'node:fs/promises';
import type { StepContext } from '../context.js';
import { bodyError, safeFetch, statusError } from '../../../core/http.js';
import { SourceUnavailableError, TooLargeError } from '../../../core/errors.js';
import type { ClassifyCheckpoint } from '../../../core/job.js';

/** Below this a file is fetched on one connection: more would cost more round trips than they save. */
const MIN_PART_BYTES = 1024 * 1024;

interface Range {
  start: number;
  end: number;
}

function splitRanges(size: number, parts: number): Range[] {
  const step = Math.ceil(size / parts);
  const ranges: Range[] = [];
  for (let start = 0; start < size; start += step) ranges.push({ start, end: Math.min(size, start + step) - 1 });
  return ranges;
}

/**
 * Streams a direct file to `dest`: parallel range requests when the server supports them, else one stream.
 * Memory stays flat: each chunk is written at its offset before the next is read.
 */
export async function downloadDirect(ctx: StepContext, source: ClassifyCheckpoint, dest: string): Promise<number> {
  const max = ctx.config.MEDIA_INGEST_MAX_BYTES;
  const parts = Math.min(ctx.input.options.connections, Math.floor(source.bytes / MIN_PART_BYTES));
  const file = await open(dest, 'w');
  // One deadline for the whole download, on top of the per-read idle timeout.
  const signal = AbortSignal.timeout(ctx.config.MEDIA_INGEST_TOTAL_TIMEOUT_MS);
  let received = 0;
  const count = (n: number, total: number | undefined) => {
    received += n;
    if (received > max) throw new TooLargeError(`source exceeded the limit of ${max} bytes while downloading`);
    ctx.progress(received, total);
  };
  try {
    if (source.acceptRanges && parts > 1) {
      await Promise.all(
        splitRanges(source.bytes, parts).map((range) => fetchRange(ctx, source.url, range, file, signal, (n) => count(n, source.bytes))),
      );
    } else {
      await fetchWhole(ctx, source.url, file, signal, count);
    }
  } finally {
    await file.close();
  }
  return received;
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
  if (declared > ctx.config.MEDIA_INGEST_MAX_BYTES) {
    await response.body.cancel();
    throw new TooLargeError(`source declares ${declared} bytes; the limit is ${ctx.config.MEDIA_INGEST_MAX_BYTES}`);
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

async function fetchRange(
  ctx: StepContext,
  rawUrl: string,
  range: Range,
  file: Awaited<ReturnType<typeof open>>,
  signal: AbortSignal,
  onBytes: (n: number) => void,
): Promise<void> {
  const { response, url } = await safeFetch(ctx.config, rawUrl, { headers: { range: `bytes=${range.start}-${range.end}` }, signal });
  if (response.status !== 206 || !response.body) {
    await response.body?.cancel();
    throw statusError(response.status, url);
  }
  const expected = range.end - range.start + 1;
  const written = await writeBody(response.body, url, file, range.start, onBytes);
  if (written !== expected) {
    throw bodyError(new Error(`range ${range.start}-${range.end} ended after ${written} of ${expected} bytes`), url);
  }
}
