import { DescribeExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobRecord } from '../../core/job.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { makeClip } from '../fixtures/media.js';
import { withRuntime, withScratch } from '../fixtures/runtime.js';
import { type CallbackReceiver, type TestServer, trickleRoute } from '../fixtures/server.js';

let server: TestServer;
let hook: CallbackReceiver;

withScratch('reconcile-e2e', {
  env: { MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: '127.0.0.1', MEDIA_INGEST_CALLBACK_SECRET: 'test-callback-secret-0123456789' },
  setup: async ({ dir, serve, callbacks }) => {
    const clip = makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 4 });
    // One route per job: each one's first request is the classifier's probe, the rest trickle.
    server = await serve(Object.fromEntries(['stopped', 'cancelled', 'timed-out'].map((name) => [`/${name}.mp4`, trickleRoute(clip)])));
    hook = await callbacks();
  },
});

/** Polls until `check` returns a value, or fails after `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Submits a job on a trickling source and returns once its worker is downloading. */
async function startSlowJob(runtime: LocalRuntime, name: string): Promise<string> {
  const jobId = await runtime.submit({ job_id: name, source: { type: 'http', url: server.url(`/${name}.mp4`) }, callback_url: hook.url });
  await waitFor('the worker to fetch the source', 30_000, () => ((server.hits.get(`/${name}.mp4`) ?? 0) >= 2 ? true : undefined));
  expect(await runtime.job(jobId)).toMatchObject({ status: 'RUNNING', stage: 'extract' });
  return jobId;
}

const callbacksOf = (jobId: string) => hook.received.filter((r) => r.jobId === jobId);

describe('an execution stopped outside the jobs API', () => {
  const fx = withRuntime('reconcile-stop');
  // Step Functions as any caller reaches it (the runtime's loopback API), not through the cancel API.
  const sfn = () => fx.runtime.operator.sfn;

  it('ends FAILED with ExecutionAborted within 2 s of a StopExecution sent straight to Step Functions, and calls back', async () => {
    const jobId = await startSlowJob(fx.runtime, 'stopped');
    const executionArn = fx.runtime.executionArnOf('local', jobId);
    const stoppedAt = Date.now();
    await sfn().send(new StopExecutionCommand({ executionArn, error: 'OperatorStop', cause: 'stopped from the console' }));
    const record = await waitFor<JobRecord>('the record to be final', 2_000, async () => {
      const r = await fx.runtime.job(jobId);
      return r?.status === 'FAILED' ? r : undefined;
    });
    await waitFor('the callback', 2_000 - (Date.now() - stoppedAt), () => (callbacksOf(jobId).length ? true : undefined));
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    expect(record.error).toEqual({ code: 'ExecutionAborted', message: 'the execution was stopped (OperatorStop: stopped from the console)' });
    expect(callbacksOf(jobId)).toEqual([expect.objectContaining({ status: 'FAILED', error: expect.objectContaining({ code: 'ExecutionAborted' }) })]);
    expect((await fx.runtime.finish(jobId)).callback).toEqual({ delivered: true, status: 204, attempts: 1 });
    expect(await sfn().send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({ status: 'ABORTED', error: 'OperatorStop' });
  });

  it('leaves a job cancelled through the API CANCELLED (reconcile finds it final) and calls no one back', async () => {
    const jobId = await startSlowJob(fx.runtime, 'cancelled');
    expect(await fx.runtime.cancelRunning()).toEqual([jobId]);
    const record = await fx.runtime.finish(jobId);
    expect(record).toMatchObject({ status: 'CANCELLED', error: { code: 'Cancelled' } });
    expect(record.callback).toBeUndefined();
    expect(callbacksOf(jobId)).toEqual([]);
    const execution = await sfn().send(new DescribeExecutionCommand({ executionArn: fx.runtime.executionArnOf('local', jobId) }));
    expect(execution).toMatchObject({ status: 'ABORTED', error: 'Cancelled' });
  });
});

describe('an execution past its TimeoutSeconds', () => {
  const TIMEOUT_SECONDS = 3;
  // The ASL's 4 hours, lowered for this runtime only.
  const fx = withRuntime('reconcile-timeout', { runtime: { settings: { jobTimeoutSeconds: TIMEOUT_SECONDS } } });

  it('ends TIMED_OUT, and the job FAILED with ExecutionTimedOut, called back', async () => {
    const submittedAt = Date.now();
    // Not waiting for the worker: under load the timeout may come first, and the job must end FAILED all the same.
    const jobId = await fx.runtime.submit({ job_id: 'timed-out', source: { type: 'http', url: server.url('/timed-out.mp4') }, callback_url: hook.url });
    const record = await fx.runtime.finish(jobId);
    expect(Date.now() - submittedAt).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000);
    expect(record.status).toBe('FAILED');
    expect(record.error).toEqual({ code: 'ExecutionTimedOut', message: expect.stringContaining('the execution timed out (States.Timeout') });
    expect(record.callback).toEqual({ delivered: true, status: 204, attempts: 1 });
    expect(callbacksOf(jobId)).toEqual([expect.objectContaining({ status: 'FAILED', error: expect.objectContaining({ code: 'ExecutionTimedOut' }) })]);
    const { sfn } = fx.runtime.operator;
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn: fx.runtime.executionArnOf('local', jobId) }))).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
  });
});
