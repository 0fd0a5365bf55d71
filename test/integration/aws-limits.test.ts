import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalEngine } from '../../local/engine.js';
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
