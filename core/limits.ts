import type { Config } from './config.js';
import { TooLargeError } from './errors.js';

/*
 * The download limits, in one place: bytes, duration and segments, for every source (the classify λ's probe, the
 * playlists it and the worker load, the worker's direct, HLS/DASH and platform downloads). In core because the
 * classify λ and core/playlist.ts apply them as much as the worker does.
 */

type Limits = Pick<Config, 'MEDIA_INGEST_MAX_BYTES' | 'MEDIA_INGEST_MAX_DURATION_SECONDS' | 'MEDIA_INGEST_MAX_SEGMENTS'>;

/** TooLarge when a known size is past the byte limit: `<subject> <bytes> bytes; the limit is <max>`. */
export function checkBytes(config: Pick<Limits, 'MEDIA_INGEST_MAX_BYTES'>, bytes: number, subject: string): void {
  const max = config.MEDIA_INGEST_MAX_BYTES;
  if (bytes > max) throw new TooLargeError(`${subject} ${bytes} bytes; the limit is ${max}`);
}

/** TooLarge when media lasts longer than allowed: `<subject> lasts <s> s; the limit is <max> s`. */
export function checkDuration(maxDurationSeconds: number, seconds: number, subject = 'the source'): void {
  if (seconds > maxDurationSeconds) {
    throw new TooLargeError(`${subject} lasts ${Math.round(seconds)} s; the limit is ${maxDurationSeconds} s`);
  }
}

/** TooLarge when a playlist has more segments than allowed. */
export function checkSegments(config: Pick<Limits, 'MEDIA_INGEST_MAX_SEGMENTS'>, segments: number): void {
  if (segments > config.MEDIA_INGEST_MAX_SEGMENTS) {
    throw new TooLargeError(`the playlist has ${segments} segments; the limit is ${config.MEDIA_INGEST_MAX_SEGMENTS}`);
  }
}

/** A byte budget and deadline shared by everything one download fetches (every part, segment, track or format). */
export interface Budget {
  /** The whole download's deadline, on top of the per-read idle timeout. */
  readonly signal: AbortSignal;
  /** Counts bytes received (negative to take some back); TooLarge once the total is past the byte limit. */
  count(n: number): void;
  received(): number;
}

export function downloadBudget(config: Pick<Config, 'MEDIA_INGEST_MAX_BYTES' | 'MEDIA_INGEST_TOTAL_TIMEOUT_MS'>): Budget {
  const max = config.MEDIA_INGEST_MAX_BYTES;
  let received = 0;
  return {
    signal: AbortSignal.timeout(config.MEDIA_INGEST_TOTAL_TIMEOUT_MS),
    count(n) {
      received += n;
      if (received > max) throw new TooLargeError(`source exceeded the limit of ${max} bytes while downloading`);
    },
    received: () => received,
  };
}

/**
 * Reads a response body into memory, `limit` bytes at most. Past the limit it stops and lets the connection go
 * (keeping the first `limit` bytes), or, with `refuse`, throws what `refuse` returns. `onBytes` sees every chunk as it
 * arrives (a shared budget may throw there). No body reads as empty.
 */
export async function readBody(
  body: ReadableStream<Uint8Array> | null | undefined,
  limit: number,
  options: { refuse?: () => Error; onBytes?: (n: number) => void } = {},
): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  try {
    while (options.refuse || size < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      options.onBytes?.(value.length);
      if (size > limit && options.refuse) throw options.refuse();
      chunks.push(value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
