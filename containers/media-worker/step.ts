import { rmdirSync, rmSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Deps } from '../../core/component.js';
import { asStepFailure, errorCause } from '../../core/errors.js';
import { type ExecutionInput } from '../../core/job.js';
import { logger } from '../../core/logger.js';
import { getJob } from '../../core/records.js';
import { type FileCache, workerCache } from './cache.js';
import { type ProgressReporter, progressReporter, type StepContext } from './context.js';
import { extract } from './steps/extract.js';
import { merge } from './steps/merge.js';
import { transcribe } from './steps/transcribe.js';

/** A step's message on the work queue (the ASL's MessageBody): the step, its task token and a reference to the job. */
export const StepMessageSchema = z.object({
  step: z.enum(['extract', 'merge', 'transcribe']),
  taskToken: z.string().min(1),
  tenant: z.string().min(1),
  jobId: z.string().min(1),
});
export type StepMessage = z.infer<typeof StepMessageSchema>;

/** What the worker tells Step Functions: SendTaskSuccess with the checkpoint, or SendTaskFailure with the stable error. */
export type Report = { output: unknown } | { error: string; cause: string };

const STEPS: Record<StepMessage['step'], (ctx: StepContext) => Promise<unknown>> = { extract, merge, transcribe };

/** This worker's file cache, made with its first step. */
let cache: FileCache | undefined;

/** The scratch folders of the steps running now, so a stop can remove them. */
const activeScratch = new Set<string>();

/** Removes every running step's scratch at once (SIGTERM, a cancelled step): nothing is left behind. */
export function removeActiveScratch(): void {
  for (const scratch of activeScratch) {
    rmSync(scratch, { recursive: true, force: true });
    try {
      rmdirSync(dirname(scratch));
    } catch {
      // other steps of the job still use it
    }
  }
}

/** Removes the step's scratch folder, and the job's folder once no step is using it. */
async function removeScratch(scratch: string): Promise<void> {
  await rm(scratch, { recursive: true, force: true });
  await rmdir(dirname(scratch)).catch(() => undefined);
}

/** HOME, TMPDIR and the cache dir point into scratch (the root is read-only): they must exist before a tool runs. */
async function toolDirs(config: Deps['config']): Promise<void> {
  for (const dir of [config.HOME, config.TMPDIR, config.XDG_CACHE_HOME]) if (dir) await mkdir(dir, { recursive: true });
}

/** Runs one step of one job; its scratch is removed on every path, before the report, so the next step never races it. */
export async function runStep({ config, clients }: Deps, message: StepMessage): Promise<Report> {
  const { step, tenant, jobId } = message;
  const scratch = join(config.WORK_DIR, jobId, step);
  let reporter: ProgressReporter | undefined;
  try {
    const jobs = { db: clients.db, name: config.JOBS_TABLE };
    // The message is only a reference: the request and the checkpoints so far are on the record.
    const record = await getJob(jobs, tenant, jobId);
    if (!record) throw new Error(`job ${tenant}/${jobId} has no record`);
    const input: ExecutionInput = { tenant, jobId, request: record.request, options: record.options, checkpoints: record.checkpoints };
    await toolDirs(config);
    activeScratch.add(scratch);
    await mkdir(scratch, { recursive: true });
    reporter = progressReporter(jobs, input, step);
    const ctx: StepContext = {
      step,
      input,
      config,
      scratch,
      stagingBucket: config.STAGING_BUCKET,
      s3: clients.s3,
      jobs,
      cache: (cache ??= workerCache(config.WORK_DIR, config.MEDIA_INGEST_WORKER_CACHE_BYTES)),
      progress: reporter.report,
    };
    const output = await STEPS[step](ctx);
    logger.info('step succeeded', { jobId, step, output: output as Record<string, unknown> });
    return { output };
  } catch (err) {
    logger.error('step failed', { jobId, step, error: err as Error });
    const failure = asStepFailure(err, step);
    return { error: failure.name, cause: errorCause(failure).slice(0, 32_768) };
  } finally {
    reporter?.stop();
    activeScratch.delete(scratch);
    await removeScratch(scratch);
    // The worker's peak memory so far (maxRSS is in KiB): flat whatever the media's size, and a test holds it to that.
    logger.info('step resources', { jobId, step, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  }
}
