import { deliverCallback } from '../../core/callbacks.js';
import { type Deps, jobsTable } from '../../core/component.js';
import { ExecutionInputSchema } from '../../core/job.js';
import { parseInput } from '../../core/input.js';
import type { CallbackOutcome } from '../../core/records.js';
import { isRedacted } from '../../core/redact.js';
import { dropRequestSecrets, realUrls } from '../../core/request-secrets.js';

/** POSTs the final job record to `callback_url`, with bounded retries; the outcome is recorded, never raised. */
export async function notify(event: unknown, deps: Deps): Promise<CallbackOutcome | { skipped: true }> {
  const input = parseInput(ExecutionInputSchema, event);
  const { tenant, jobId, request } = input;
  const { config, clients } = deps;
  let outcome: CallbackOutcome | { skipped: true } = { skipped: true };
  if (request.callback_url) {
    const { callbackUrl = request.callback_url } = await realUrls(clients.s3, config.STAGING_BUCKET, input);
    outcome = await deliverCallback(config, jobsTable(deps), tenant, jobId, callbackUrl);
  }
  // The job has ended: nothing fetches its source or calls back any more, so its real URLs are forgotten.
  if (isRedacted(request.source.url) || isRedacted(request.callback_url ?? '')) {
    await dropRequestSecrets(clients.s3, config.STAGING_BUCKET, tenant, jobId);
  }
  return outcome;
}
