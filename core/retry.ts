import { setTimeout as sleep } from 'node:timers/promises';

/*
 * One retry loop for the product's own retries (range parts, segments, platform extractions, speech-to-text calls,
 * callbacks). Hand-written rather than p-retry: the callers need a count that starts again when an attempt made
 * progress, and the attempt number inside the work (callbacks record it); ~30 lines do not warrant a dependency.
 */

export interface RetryPolicy {
  /** Attempts at most (in a row without progress, with `progressed`). */
  attempts: number;
  /** Whether this failure may be tried again at all; every failure by default. */
  retryable?: (err: unknown) => boolean;
  /** Milliseconds to wait after failed attempt `attempt` (from 1); none by default. */
  delayMs?: (attempt: number, err: unknown) => number;
  /** After a failure: whether that attempt made progress, so the count of attempts starts again. */
  progressed?: () => boolean;
  /** Called before each new attempt, with the failure and the attempt that failed. */
  onRetry?: (err: unknown, attempt: number) => void;
}

/** Runs `work` (given its attempt number, from 1) until it succeeds or the policy gives up; the last failure is thrown. */
export async function retry<T>(work: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1, inARow = 1; ; attempt++, inARow++) {
    try {
      return await work(attempt);
    } catch (err) {
      if (policy.progressed?.()) inARow = 0;
      if (!(policy.retryable?.(err) ?? true) || inARow >= policy.attempts) throw err;
      policy.onRetry?.(err, attempt);
      const delay = policy.delayMs?.(attempt, err) ?? 0;
      if (delay > 0) await sleep(delay);
    }
  }
}

/** Exponential backoff: `baseMs` after the first failed attempt, doubling, `capMs` at most. */
export function backoffMs(attempt: number, baseMs: number, capMs = Infinity): number {
  return Math.min(capMs, baseMs * 2 ** (attempt - 1));
}

/** The wait a server asks for in Retry-After (seconds or an HTTP date), if it asks for one. */
export function retryAfterMs(retryAfter: string | null | undefined): number | undefined {
  if (!retryAfter) return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(retryAfter);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
