import { setTimeout as sleep } from 'node:timers/promises';
import { type Deps, jobsTable } from '../../core/component.js';
import { checkCallbackUrl, SIGNATURE_HEADER, signCallback } from '../../core/callbacks.js';
import { InvalidRequestError } from '../../core/errors.js';
import { safeFetch } from '../../core/http.js';
import { ExecutionInputSchema, describeZodError } from '../../core/job.js';
import { logger } from '../../core/logger.js';
import { type CallbackOutcome, getJob, recordCallback } from '../../core/records.js';

/** POSTs the final job record to `callback_url`, with bounded retries; the outcome is recorded, never raised. */
export async function notify(event: unknown, deps: Deps): Promise<CallbackOutcome | { skipped: true }> {
  const parsed = ExecutionInputSchema.safeParse(event);
  if (!parsed.success) throw new InvalidRequestError(describeZodError(parsed.error));
  const { tenant, jobId, request } = parsed.data;
  if (!request.callback_url) return { skipped: true };
  const { config } = deps;
  const table = jobsTable(deps);
  const outcome: CallbackOutcome = { delivered: false, attempts: 0 };
  let secret: string;
  try {
    // Checked again here: the allowlist may have changed since the job was accepted.
    ({ secret } = checkCallbackUrl(config, request.callback_url));
  } catch (err) {
    outcome.error = `${(err as Error).name}: ${(err as Error).message}`;
    await recordCallback(table, tenant, jobId, outcome);
    return outcome;
  }
  const body = JSON.stringify(await getJob(table, tenant, jobId));

  for (let attempt = 1; attempt <= config.MEDIA_INGEST_CALLBACK_ATTEMPTS; attempt++) {
    outcome.attempts = attempt;
    try {
      const { response } = await safeFetch(config, request.callback_url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'media-ingest',
          [SIGNATURE_HEADER]: signCallback(secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      outcome.status = response.status;
      delete outcome.error;
      if (response.ok) {
        outcome.delivered = true;
        break;
      }
    } catch (err) {
      outcome.error = `${(err as Error).name}: ${(err as Error).message}`;
      // A refused destination will not become safe by retrying.
      if ((err as Error).name === 'UnsafeUrl') break;
    }
    if (attempt < config.MEDIA_INGEST_CALLBACK_ATTEMPTS) await sleep(500 * 2 ** (attempt - 1));
  }
  logger.info('callback', { jobId, ...outcome });
  await recordCallback(table, tenant, jobId, outcome);
  return outcome;
}
