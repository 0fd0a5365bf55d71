import { downloadBudget } from '../../../core/limits.js';
import type { StepContext } from '../context.js';

/** What each of the downloads run together can see of the others: a signal raised, with the reason, once any fails. */
export interface Together {
  signal: AbortSignal;
  /** This download failed (or must stop): the others stop too, and this is the step's failure. */
  fail(err: unknown): void;
}

/**
 * Downloads that run at the same time for one step (a platform page's formats, a DASH manifest's video and audio):
 * their bytes on one budget and one progress (the record shows their sum). Past the byte limit, or once any fails, all
 * stop, and the first failure is thrown only once every one has ended, so none still writes or uploads after the step
 * failed. Each run gets a context whose `progress` throws once the others stopped.
 */
export async function downloadTogether<T>(ctx: StepContext, runs: Array<(ctx: StepContext, together: Together) => Promise<T>>): Promise<T[]> {
  const budget = downloadBudget(ctx.config);
  const received = new Array<number>(runs.length).fill(0);
  const totals = new Array<number | undefined>(runs.length).fill(undefined);
  const stop = new AbortController();
  // The first failure is the reason: aborting again keeps it.
  const together: Together = { signal: stop.signal, fail: (err) => stop.abort(err) };
  /** Download `i` has `bytes` so far (each downloader counts its own): the budget counts what is new. */
  const report = (i: number, bytes: number, total: number | undefined) => {
    // A plain Error, which no fetcher retries (a SourceUnavailable would be, part by part); the step fails with the first failure.
    if (stop.signal.aborted) throw new Error('stopped: another download of the step failed');
    const more = bytes - received[i]!;
    received[i] = bytes;
    totals[i] = total;
    budget.count(more);
    ctx.progress(budget.received(), totals.every((t) => t !== undefined) ? totals.reduce((a, b) => a! + b!, 0) : undefined);
  };
  const results = await Promise.allSettled(
    runs.map(async (run, i) => {
      try {
        return await run({ ...ctx, progress: (bytes, total) => report(i, bytes, total) }, together);
      } catch (err) {
        together.fail(err);
        throw err;
      }
    }),
  );
  if (stop.signal.aborted) throw stop.signal.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
