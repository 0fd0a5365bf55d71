import { randomUUID } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type Deps, jobsTable } from '../../core/component.js';
import { type ExecutionInput, executionName, JobRequestSchema } from '../../core/job.js';
import { parseInput } from '../../core/input.js';
import { createQueued, recordFailureBeforeStart, setExecution } from '../../core/records.js';
import { sanitiseMetadata } from '../../core/sanitise.js';
import { artifactsPrefix } from '../../core/storage.js';
import { checkCallbackUrl } from '../../core/callbacks.js';
import { keepRealUrls, redactRequest } from '../../core/request-secrets.js';

export interface StartJobInput {
  tenant: string;
  /** The request body, not yet validated. */
  body: unknown;
}

/** Validates a job request, records it QUEUED and starts its execution. */
export async function startJob(input: StartJobInput, deps: Deps): Promise<{ jobId: string; status: 'QUEUED' }> {
  const { config } = deps;
  // `connections` is how the job runs, kept in its options, not in the request.
  const { connections, ...request } = parseInput(JobRequestSchema, input.body);
  const jobId = request.job_id ?? randomUUID();
  artifactsPrefix(input.tenant, jobId, request.storage_path);
  if (request.callback_url) checkCallbackUrl(config, request.callback_url);
  // What the caller says about the source is stored and shown: sanitised first.
  if (request.source.metadata) request.source.metadata = sanitiseMetadata(request.source.metadata) as Record<string, unknown>;

  const table = jobsTable(deps);
  const options = { connections: connections ?? config.MEDIA_INGEST_CONNECTIONS };
  // The record and the execution input (its history, logs) hold redacted URLs; the real ones wait in staging.
  const stored = redactRequest(request);
  // The record holds the whole job; workers read it from there, since a step's message carries only a reference.
  await createQueued(table, { tenant: input.tenant, jobId, request: stored, options, ttlDays: config.MEDIA_INGEST_JOB_TTL_DAYS });
  const executionInput: ExecutionInput = { tenant: input.tenant, jobId, request: stored, options, checkpoints: {} };
  try {
    await keepRealUrls(deps.clients.s3, config.STAGING_BUCKET, input.tenant, jobId, request);
    const { executionArn } = await deps.clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: config.STATE_MACHINE_ARN,
        name: executionName(input.tenant, jobId),
        input: JSON.stringify(executionInput),
      }),
    );
    // Known at once, so a cancel right after submission can stop the execution.
    if (executionArn) await setExecution(table, input.tenant, jobId, executionArn);
  } catch (err) {
    // Nothing lost: the record says the execution never started, and why.
    await recordFailureBeforeStart(table, input.tenant, jobId, 'ExecutionNotStarted', (err as Error).message);
    throw err;
  }
  return { jobId, status: 'QUEUED' };
}
