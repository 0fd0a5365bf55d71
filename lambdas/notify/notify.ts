import { type Deps, jobsTable } from '../../core/component.js';
import { deliverCallback } from '../../core/callbacks.js';
import { InvalidRequestError } from '../../core/errors.js';
import { ExecutionInputSchema, describeZodError } from '../../core/job.js';
import type { CallbackOutcome } from '../../core/records.js';

/** POSTs the final job record to `callback_url`, with bounded retries; the outcome is recorded, never raised. */
export async function notify(event: unknown, deps: Deps): Promise<CallbackOutcome | { skipped: true }> {
  const parsed = ExecutionInputSchema.safeParse(event);
  if (!parsed.success) throw new InvalidRequestError(describeZodError(parsed.error));
  const { tenant, jobId, request } = parsed.data;
  if (!request.callback_url) return { skipped: true };
  return deliverCallback(deps.config, jobsTable(deps), tenant, jobId, request.callback_url);
}
