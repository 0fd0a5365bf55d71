import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobRecord } from '../../core/job.js';
import { LocalRuntime } from '../../local/runtime.js';
import { setEnv } from '../fixtures/env.js';
import { makeClip } from '../fixtures/media.js';
import { type CallbackReceiver, startCallbackReceiver, startServer, type TestServer, trickleRoute } from '../fixtures/server.js';

let dir: string;
let server: TestServer;
let hook: CallbackReceiver;
let restoreEnv: () => void;

beforeAll(async () => {
  restoreEnv = setEnv({ MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: '127.0.0.1', MEDIA_INGEST_CALLBACK_SECRET: 'test-callback-secret-0123456789' });
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-reconcile-e2e-'));
  const clip = makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 4 });
  // One route per job: each one's first request is the classifier's probe, the rest trickle.
  server = await startServer(Object.fromEntries(['stopped', 'cancelled', 'timed-out'].map((name) => [`/${name}.mp4`, trickleRoute(clip)])));
  hook = await startCallbackReceiver();
});

afterAll(async () => {
  await hook?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
  restoreEnv?.();
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
  let runtime: LocalRuntime;
  // The loopback Step Functions endpoint the runtime serves, as its components reach it.
  let sfn: SFNClient;

  beforeAll(async () => {
    runtime = await LocalRuntime.start({ dataDir: join(dir, 'stop'), allowHosts: ['127.0.0.1'] });
    // Step Functions as any caller reaches it (the runtime's loopback API), not through the cancel API.
    sfn = runtime.operator.sfn;
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('ends FAILED with ExecutionAborted within 2 s of a StopExecution sent straight to Step Functions, and calls back', async () => {
    const jobId = await startSlowJob(runtime, 'stopped');
    const executionArn = runtime.executionArnOf('local', jobId);
    const stoppedAt = Date.now();
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'OperatorStop', cause: 'stopped from the console' }));
    const record = await waitFor<JobRecord>('the record to be final', 2_000, async () => {
      const r = await runtime.job(jobId);
      return r?.status === 'FAILED' ? r : undefined;
    });
    await waitFor('the callback', 2_000 - (Date.now() - stoppedAt), () => (callbacksOf(jobId).length ? true : undefined));
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    expect(record.error).toEqual({ code: 'ExecutionAborted', message: 'the execution was stopped (OperatorStop: stopped from the console)' });
    expect(callbacksOf(jobId)).toEqual([expect.objectContaining({ status: 'FAILED', error: expect.objectContaining({ code: 'ExecutionAborted' }) })]);
    expect((await runtime.finish(jobId)).callback).toEqual({ delivered: true, status: 204, attempts: 1 });
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn }))).toMatchObject({ status: 'ABORTED', error: 'OperatorStop' });
  });

  it('leaves a job cancelled through the API CANCELLED (reconcile finds it final) and calls no one back', async () => {
    const jobId = await startSlowJob(runtime, 'cancelled');
    expect(await runtime.cancelRunning()).toEqual([jobId]);
    const record = await runtime.finish(jobId);
    expect(record).toMatchObject({ status: 'CANCELLED', error: { code: 'Cancelled' } });
    expect(record.callback).toBeUndefined();
    expect(callbacksOf(jobId)).toEqual([]);
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: runtime.executionArnOf('local', jobId) }));
    expect(execution).toMatchObject({ status: 'ABORTED', error: 'Cancelled' });
  });
});

describe('an execution past its TimeoutSeconds', () => {
  const TIMEOUT_SECONDS = 3;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    // The ASL's 4 hours, lowered for this runtime only.
    runtime = await LocalRuntime.start({ dataDir: join(dir, 'timeout'), allowHosts: ['127.0.0.1'], settings: { jobTimeoutSeconds: TIMEOUT_SECONDS } });
  });

  afterAll(() => runtime?.stop());

  it('ends TIMED_OUT, and the job FAILED with ExecutionTimedOut, called back', async () => {
    const submittedAt = Date.now();
    // Not waiting for the worker: under load the timeout may come first, and the job must end FAILED all the same.
    const jobId = await runtime.submit({ job_id: 'timed-out', source: { type: 'http', url: server.url('/timed-out.mp4') }, callback_url: hook.url });
    const record = await runtime.finish(jobId);
    expect(Date.now() - submittedAt).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000);
    expect(record.status).toBe('FAILED');
    expect(record.error).toEqual({ code: 'ExecutionTimedOut', message: expect.stringContaining('the execution timed out (States.Timeout') });
    expect(record.callback).toEqual({ delivered: true, status: 204, attempts: 1 });
    expect(callbacksOf(jobId)).toEqual([expect.objectContaining({ status: 'FAILED', error: expect.objectContaining({ code: 'ExecutionTimedOut' }) })]);
    const { sfn } = runtime.operator;
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn: runtime.executionArnOf('local', jobId) }))).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
  });
});
