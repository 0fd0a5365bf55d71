import { ExecutionDoesNotExist, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { type Deps, jobsTable } from '../../core/component.js';
import { ConflictError, JobNotFoundError } from '../../core/errors.js';
import { logger } from '../../core/logger.js';
import { getJob, markCancelled } from '../../core/records.js';
import { deletePrefix } from '../../core/staging.js';
import { stagingPrefix } from '../../core/storage.js';

/** Stops a queued or running job: its execution is stopped, its record CANCELLED, its staging data deleted. */
export async function cancelJob(tenant: string, jobId: string, deps: Deps): Promise<{ jobId: string; status: 'CANCELLED' }> {
  const table = jobsTable(deps);
  const job = await getJob(table, tenant, jobId);
  if (!job) throw new JobNotFoundError(`no job ${jobId}`);
  if (job.status !== 'QUEUED' && job.status !== 'RUNNING') throw new ConflictError(`job ${jobId} has already ended (${job.status})`);
  // Recorded first, so a state still in flight cannot write SUCCEEDED or FAILED over the cancellation.
  await markCancelled(table, tenant, jobId);
  if (job.executionArn) {
    await deps.clients.sfn
      .send(new StopExecutionCommand({ executionArn: job.executionArn, error: 'Cancelled', cause: 'DELETE /jobs/{id}' }))
      .catch((err: unknown) => {
        if (!(err instanceof ExecutionDoesNotExist)) throw err;
      });
  }
  const removed = await deletePrefix(deps.clients.s3, deps.config.STAGING_BUCKET, stagingPrefix(tenant, jobId));
  logger.info('job cancelled', { jobId, tenant, ...removed });
  return { jobId, status: 'CANCELLED' };
}
