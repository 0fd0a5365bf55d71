import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { deliverCallback } from '../../core/callbacks.js';
import { realUrls } from '../../core/request-secrets.js';
import { type Deps, jobsTable } from '../../core/component.js';
import { type ErrorCode } from '../../core/errors.js';
import { ExecutionStatusChangeSchema, type UnrecordedEnd } from '../../core/execution-events.js';
import { ExecutionInputSchema } from '../../core/job.js';
import { parseInput } from '../../core/input.js';
import { logger } from '../../core/logger.js';
import { type CallbackOutcome, recordExecutionEnded } from '../../core/records.js';

/** The job's error code for each way an execution can end without recording it. */
export const END_CODES: Record<UnrecordedEnd, ErrorCode> = {
  FAILED: 'ExecutionFailed',
  TIMED_OUT: 'ExecutionTimedOut',
  ABORTED: 'ExecutionAborted',
};

const END_WORDS: Record<UnrecordedEnd, string> = { FAILED: 'failed', TIMED_OUT: 'timed out', ABORTED: 'was stopped' };

export interface ReconcileResult {
  executionArn: string;
  jobId?: string;
  /** True when this call moved the job to FAILED; false when it was already final (or the status is not an end). */
  recorded: boolean;
  callback?: CallbackOutcome;
}

/**
 * An execution ended FAILED, TIMED_OUT or ABORTED (EventBridge): a job it left QUEUED or RUNNING is recorded FAILED
 * with a stable code and its caller called back; a job already final (SUCCEEDED, FAILED, CANCELLED) is left alone.
 */
export async function reconcile(event: unknown, deps: Deps): Promise<ReconcileResult> {
  const { config, clients } = deps;
  const { detail } = parseInput(ExecutionStatusChangeSchema, event, 'not a Step Functions status change');
  const { executionArn, status, error, cause } = detail;
  if (!(status in END_CODES)) return { executionArn, recorded: false };
  const end = status as UnrecordedEnd;

  // EventBridge leaves the input out when it is too large; the execution still has it.
  const rawInput = detail.input ?? (await clients.sfn.send(new DescribeExecutionCommand({ executionArn }))).input ?? '{}';
  const input = parseInput(ExecutionInputSchema, JSON.parse(rawInput), `execution ${executionArn} has no job input`);
  const { tenant, jobId, request } = input;

  const reason = [error, cause].filter(Boolean).join(': ').slice(0, 1000);
  const message = `the execution ${END_WORDS[end]}${reason ? ` (${reason})` : ''}`;
  const recorded = await recordExecutionEnded(jobsTable(deps), tenant, jobId, END_CODES[end], message);
  logger.info('reconcile', { jobId, tenant, executionArn, status, recorded });
  if (!recorded || !request.callback_url) return { executionArn, jobId, recorded };
  const { callbackUrl = request.callback_url } = await realUrls(clients.s3, config.STAGING_BUCKET, input);
  return { executionArn, jobId, recorded, callback: await deliverCallback(config, jobsTable(deps), tenant, jobId, callbackUrl) };
}
