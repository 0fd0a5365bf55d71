import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { deploymentFor } from '../../local/deployment.js';
import { LocalEngine } from '../../local/engine.js';
import { bundleFunction, LambdaThreads } from '../../local/lambda-threads.js';
import { TaskTokens } from '../../local/task-tokens.js';

/** Each of AWS's limits, held by the local engine as AWS holds it, on a one-state machine. */
let dir: string;
const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
const sqs = new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-limits-'));
});
afterAll(async () => {
  dynamo.destroy();
  sqs.destroy();
  await rm(dir, { recursive: true, force: true });
});

const task = (state: Record<string, unknown>) =>
  JSON.stringify({ StartAt: 'Only', States: { Only: { Type: 'Task', TimeoutSeconds: 30, End: true, ...state } } });

async function engineFor(definition: string, lambda: (event: unknown) => Promise<unknown> = async () => ({})): Promise<LocalEngine> {
  const ctx = {
    tokens: new TaskTokens(),
    lambdas: () => ({ 'arn:aws:lambda:us-east-1:000000000000:function:media-ingest-classify': lambda }),
    dynamo,
    sqs,
  };
  return LocalEngine.create(ctx, definition, join(dir, 'executions'));
}

const invoke = task({ Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: '${ClassifyFunctionArn}', 'Payload.$': '$' } });

describe('AWS limits in the local engine', () => {
  it('fails an execution whose state data passes 256 KiB with States.DataLimitExceeded (not catchable)', async () => {
    const engine = await engineFor(invoke, async () => 'x'.repeat(300 * 1024));
    const execution = engine.start('big-state', '{}');
    await execution.done;
    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
  });

  it('refuses a Lambda response over 6 MB as Lambda does', async () => {
    const engine = await engineFor(invoke, async () => 'x'.repeat(7 * 1024 * 1024));
    const execution = engine.start('big-response', '{}');
    await execution.done;
    expect(execution).toMatchObject({ status: 'FAILED', error: 'Lambda.ResponseSizeTooLarge' });
  });

  it('refuses an execution input over 256 KiB and a name over 80 characters or with other characters', async () => {
    const engine = await engineFor(invoke);
    expect(() => engine.start('big-input', JSON.stringify({ x: 'x'.repeat(257 * 1024) }))).toThrow(expect.objectContaining({ name: 'InvalidExecutionInput' }));
    expect(() => engine.start('n'.repeat(81), '{}')).toThrow(expect.objectContaining({ name: 'InvalidName' }));
    expect(() => engine.start('tenant/job', '{}')).toThrow(expect.objectContaining({ name: 'InvalidName' }));
  });
});

describe('Lambda limits in the local runtime', () => {
  let bundle: string;
  const threads: LambdaThreads[] = [];
  const hostile = (limits: { memoryMb: number; timeoutSeconds: number }, log = join(dir, 'hostile.log')) => {
    const fn = new LambdaThreads(bundle, { HOSTILE_MARK: 'the template', POWERTOOLS_LOG_LEVEL: 'WARN' }, limits, log);
    threads.push(fn);
    return fn;
  };
  // A Catch of States.ALL as the workflow's Lambda states have, and a Retry that a runtime failure must not match.
  const caught = (retry: string[]) =>
    JSON.stringify({
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: '${ClassifyFunctionArn}', 'Payload.$': '$' },
          TimeoutSeconds: 60,
          Retry: [{ ErrorEquals: retry, IntervalSeconds: 1, MaxAttempts: 1 }],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    });
  const run = async (definition: string, lambda: (event: unknown) => Promise<unknown>, input: unknown, name: string) => {
    const execution = (await engineFor(definition, lambda)).start(name, JSON.stringify(input));
    await execution.done;
    return execution;
  };

  beforeAll(async () => {
    bundle = join(dir, 'hostile.mjs');
    await bundleFunction(fileURLToPath(new URL('../fixtures/hostile-lambda.ts', import.meta.url)), bundle);
  });
  afterAll(() => Promise.all(threads.map((fn) => fn.stop())));

  it("takes each workflow function's MemorySize and Timeout from the template", async () => {
    const { limits } = await deploymentFor({});
    expect(limits).toMatchObject({
      classify: { memoryMb: 512, timeoutSeconds: 30 },
      publish: { memoryMb: 512, timeoutSeconds: 300 },
      notify: { memoryMb: 512, timeoutSeconds: 120 },
      reconcile: { memoryMb: 512, timeoutSeconds: 120 },
    });
  });

  it("runs a function on the template's environment alone, and reports its thrown error by name", async () => {
    const fn = hostile({ memoryMb: 128, timeoutSeconds: 10 });
    await expect(fn.invoke({})).resolves.toEqual({ mark: 'the template', home: null });
    const execution = await run(invoke, fn.invoke, { throw: 'SourceUnavailable' }, 'thrown');
    expect(execution).toMatchObject({ status: 'FAILED', error: 'SourceUnavailable' });
    expect(JSON.parse(execution.cause!)).toMatchObject({ errorType: 'SourceUnavailable', errorMessage: 'asked to fail' });
  });

  it("writes a function's log lines to its own log file, as to its log group, not to this process's output", async () => {
    const log = join(dir, 'says.log');
    const fn = hostile({ memoryMb: 128, timeoutSeconds: 10 }, log);
    const printed: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (printed.push(String(chunk)), write.call(process.stdout, chunk, ...rest))) as typeof write;
    let text = '';
    try {
      await fn.invoke({ say: 'a line from the thread' });
      // The thread's output reaches the file a moment after its answer.
      for (let i = 0; i < 50 && !text; i++) text = await readFile(log, 'utf8').catch(() => sleep(50).then(() => ''));
    } finally {
      process.stdout.write = write;
    }
    expect(text).toBe('a line from the thread\n');
    expect(printed.join('')).not.toContain('a line from the thread');
  });

  it('fails a task whose function runs out of memory with Runtime.OutOfMemory, caught as on AWS; this process lives on', async () => {
    const fn = hostile({ memoryMb: 64, timeoutSeconds: 60 });
    let calls = 0;
    const counted = (event: unknown) => ((calls += 1), fn.invoke(event));
    const execution = await run(caught(['Lambda.ServiceException', 'Lambda.TooManyRequestsException']), counted, { allocate: true }, 'out-of-memory');
    expect(calls).toBe(1);
    expect(execution.status).toBe('SUCCEEDED');
    const { error } = JSON.parse(execution.output!) as { error: { Error: string; Cause: string } };
    expect(error.Error).toBe('Runtime.OutOfMemory');
    expect(JSON.parse(error.Cause)).toMatchObject({ errorType: 'Runtime.OutOfMemory', errorMessage: expect.stringMatching(/^RequestId: \S+ Error: Runtime exited with error: signal: killed$/) });
    // The next invocation gets a fresh execution environment.
    await expect(fn.invoke({})).resolves.toEqual({ mark: 'the template', home: null });
  });

  it('fails a task whose function runs past its Timeout with Sandbox.Timedout, which States.TaskFailed retries as on AWS', async () => {
    const fn = hostile({ memoryMb: 128, timeoutSeconds: 1 });
    let calls = 0;
    const counted = (event: unknown) => ((calls += 1), fn.invoke(event));
    const started = Date.now();
    const execution = await run(caught(['States.TaskFailed']), counted, { sleepMs: 30_000 }, 'timed-out');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(calls).toBe(2);
    const { error } = JSON.parse(execution.output!) as { error: { Error: string; Cause: string } };
    expect(error.Error).toBe('Sandbox.Timedout');
    expect(JSON.parse(error.Cause)).toMatchObject({ errorMessage: expect.stringMatching(/Error: Task timed out after 1\.00 seconds$/) });
    await expect(fn.invoke({ sleepMs: 10 })).resolves.toEqual({ mark: 'the template', home: null });
  });
});
