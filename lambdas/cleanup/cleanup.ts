import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { type Deps, jobsTable } from '../../core/component.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { logger } from '../../core/logger.js';
import { FINAL_STATUSES } from '../../core/job.js';
import { getJob, recordAudit, recordExecutionEnded, runningJobs } from '../../core/records.js';
import { deletePrefix } from '../../core/staging.js';
import { PREFIXES, stagingPrefix } from '../../core/storage.js';

export interface CleanupReport {
  deletedPrefixes: Array<{ prefix: string; reason: string; objects: number; bytes: number }>;
  abortedUploads: number;
  /** Why uploads were not listed, when the endpoint cannot (s3rver). */
  uploadsSkipped?: string;
  markedFailed: string[];
}

/** Every job's staging prefix, with the newest object time under it. */
async function stagedJobs(s3: S3Client, bucket: string): Promise<Array<{ tenant: string; jobId: string; prefix: string; newest: Date }>> {
  const found = new Map<string, { tenant: string; jobId: string; prefix: string; newest: Date }>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: PREFIXES.staging, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      const [, tenant, jobId] = object.Key!.split('/');
      if (!tenant || !jobId) continue;
      const prefix = stagingPrefix(tenant, jobId);
      const at = object.LastModified ?? new Date(0);
      const seen = found.get(prefix);
      if (!seen || seen.newest < at) found.set(prefix, { tenant, jobId, prefix, newest: at });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return [...found.values()];
}

/**
 * The periodic sweep: staging of ended (or unknown) jobs older than the retention is deleted and audited,
 * stale multipart uploads are aborted, and jobs left RUNNING by an execution that has ended are marked FAILED.
 */
export async function cleanup(deps: Deps, now = new Date()): Promise<CleanupReport> {
  const { config, clients } = deps;
  const table = jobsTable(deps);
  const bucket = config.STAGING_BUCKET;
  const cutoff = new Date(now.getTime() - config.MEDIA_INGEST_STAGING_RETENTION_HOURS * 3_600_000);
  const report: CleanupReport = { deletedPrefixes: [], abortedUploads: 0, markedFailed: [] };

  for (const staged of await stagedJobs(clients.s3, bucket)) {
    if (staged.newest > cutoff) continue;
    const job = await getJob(table, staged.tenant, staged.jobId);
    if (job && !FINAL_STATUSES.has(job.status)) continue;
    const reason = job ? `job ${job.status}` : 'no job record';
    const removed = await deletePrefix(clients.s3, bucket, staged.prefix);
    report.deletedPrefixes.push({ prefix: staged.prefix, reason, ...removed });
    await recordAudit(table, now, { action: 'delete-staging', prefix: staged.prefix, reason, ...removed }, config.MEDIA_INGEST_JOB_TTL_DAYS);
  }

  try {
    const uploads = await clients.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: PREFIXES.staging }));
    for (const upload of uploads.Uploads ?? []) {
      if ((upload.Initiated ?? now) > cutoff) continue;
      await clients.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key!, UploadId: upload.UploadId! }));
      report.abortedUploads++;
      await recordAudit(table, now, { action: 'abort-upload', prefix: upload.Key, uploadId: upload.UploadId }, config.MEDIA_INGEST_JOB_TTL_DAYS);
    }
  } catch (err) {
    if ((err as Error).name !== 'NotImplemented') throw err;
    report.uploadsSkipped = 'the S3 endpoint cannot list multipart uploads';
  }

  for await (const job of runningJobs(table)) {
    if (!job.executionArn) continue;
    const execution = await clients.sfn.send(new DescribeExecutionCommand({ executionArn: job.executionArn }));
    if (execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE') continue;
    const message = `the execution ended ${execution.status} without recording the job (${execution.error ?? 'no error'})`;
    if (!(await recordExecutionEnded(table, job.tenant, job.jobId, 'ExecutionEnded', message))) continue;
    report.markedFailed.push(job.jobId);
    await recordAudit(table, now, { action: 'mark-failed', jobId: job.jobId, jobTenant: job.tenant, execution: execution.status }, config.MEDIA_INGEST_JOB_TTL_DAYS);
  }

  logger.info('cleanup', { deleted: report.deletedPrefixes.length, aborted: report.abortedUploads, markedFailed: report.markedFailed.length });
  return report;
}
