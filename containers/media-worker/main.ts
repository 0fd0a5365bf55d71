import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { rmdirSync, rmSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { setUp } from '../../core/component.js';
import { errorCause } from '../../core/errors.js';
import { parseInput } from '../../core/input.js';
import { type ExecutionInput, type Step } from '../../core/job.js';
import { getJob } from '../../core/records.js';
import { logger } from '../../core/logger.js';
import { progressReporter, type StepContext } from './context.js';
import { extract } from './steps/extract.js';
import { merge } from './steps/merge.js';
import { transcribe } from './steps/transcribe.js';
import { killAllTools } from './tools/run.js';

/** What the ECS container overrides give the worker: the step, its task token and a reference to the job (the ASL's Extract, Merge, Transcribe). */
const WorkerEnvSchema = z.object({
  STEP: z.enum(['extract', 'merge', 'transcribe']),
  TASK_TOKEN: z.string().min(1),
  TENANT: z.string().min(1),
  JOB_ID: z.string().min(1),
});

/** The step's scratch folder while it runs, so a stop can remove it. */
let activeScratch: string | undefined;

/** Ends the worker at once: tools killed as a tree, scratch removed. For SIGTERM and for a stopped execution. */
function stopNow(why: string, code: number): never {
  logger.warn('worker stopping', { why });
  killAllTools();
  if (activeScratch) {
    rmSync(activeScratch, { recursive: true, force: true });
    try {
      rmdirSync(dirname(activeScratch));
    } catch {
      // other steps of the job still use it
    }
  }
  process.exit(code);
}

const STEPS: Record<z.infer<typeof WorkerEnvSchema>['STEP'], (ctx: StepContext) => Promise<unknown>> = { extract, merge, transcribe };
const HEARTBEAT_MS = 30_000;

/** Removes the step's scratch folder, and the job's folder once no step is using it. */
async function removeScratch(scratch: string): Promise<void> {
  await rm(scratch, { recursive: true, force: true });
  await rmdir(dirname(scratch)).catch(() => undefined);
}

/** HOME, TMPDIR and the cache dir point into scratch (the root is read-only): they must exist before a tool runs. */
async function toolDirs(config: { HOME?: string; TMPDIR?: string; XDG_CACHE_HOME?: string }): Promise<void> {
  for (const dir of [config.HOME, config.TMPDIR, config.XDG_CACHE_HOME]) if (dir) await mkdir(dir, { recursive: true });
}

async function main(): Promise<number> {
  let env: z.infer<typeof WorkerEnvSchema>;
  try {
    env = parseInput(WorkerEnvSchema, process.env, 'bad environment');
  } catch (err) {
    // Without a task token there is no one to report to: say it on stderr and exit non-zero.
    process.stderr.write(`media-worker: ${(err as Error).message}\n`);
    return 2;
  }
  const { STEP: step, TASK_TOKEN: taskToken, TENANT: tenant, JOB_ID: jobId } = env;
  logger.appendKeys({ jobId, step });
  // Configuration and clients once, from the task definition's environment (the configuration contract's 'worker').
  const { config, clients } = setUp('worker', process.env);
  const { sfn } = clients;
  const heartbeat = setInterval(() => {
    sfn.send(new SendTaskHeartbeatCommand({ taskToken })).catch((err: Error) => {
      // The execution was stopped (cancelled) or gave up on this task: nothing will read our result.
      if (err.name === 'TaskTimedOut' || err.name === 'TaskDoesNotExist') stopNow(`heartbeat refused: ${err.name}`, 0);
      logger.warn('heartbeat failed', { error: err.message });
    });
  }, HEARTBEAT_MS);
  let scratch: string | undefined;
  let report: () => Promise<unknown>;
  try {
    const jobs = { db: clients.db, name: config.JOBS_TABLE };
    // The step's message is only a reference: the request and the checkpoints so far are on the record.
    const record = await getJob(jobs, tenant, jobId);
    if (!record) throw new Error(`job ${tenant}/${jobId} has no record`);
    const input: ExecutionInput = { tenant, jobId, request: record.request, options: record.options, checkpoints: record.checkpoints };
    await toolDirs(config);
    scratch = join(config.WORK_DIR, jobId, step);
    activeScratch = scratch;
    await mkdir(scratch, { recursive: true });
    const ctx: StepContext = {
      step: step as Step,
      input,
      config,
      scratch,
      stagingBucket: config.STAGING_BUCKET,
      s3: clients.s3,
      jobs,
      progress: progressReporter(jobs, input, step),
    };
    logger.info('step started');
    const output = await STEPS[step](ctx);
    logger.info('step succeeded', { output: output as Record<string, unknown> });
    report = () => sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  } catch (err) {
    logger.error('step failed', { error: err as Error });
    const name = err instanceof Error ? err.name : 'Error';
    const cause = errorCause(err).slice(0, 32_768);
    report = () => sfn.send(new SendTaskFailureCommand({ taskToken, error: name, cause }));
  } finally {
    clearInterval(heartbeat);
  }
  // The worker's peak memory (maxRSS is in KiB): flat whatever the media's size, and a test holds it to that.
  logger.info('step resources', { maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  // Scratch goes on every path, and before the report, so the next step never races it.
  if (scratch) await removeScratch(scratch);
  await report();
  return 0;
}

// ECS stops a task with SIGTERM: take the tools down with us and leave nothing behind.
process.once('SIGTERM', () => stopNow('SIGTERM', 143));

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`media-worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
