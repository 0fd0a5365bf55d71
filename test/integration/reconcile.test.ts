import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createQueued } from '../../core/records.js';
import { reconcile } from '../../lambdas/reconcile/reconcile.js';
import { LOCAL_STATE_MACHINE_ARN as ARN } from '../../local/substitutions.js';
import { withRuntime } from '../fixtures/runtime.js';
import type { CallbackReceiver } from '../fixtures/server.js';

let hook: CallbackReceiver;

/** A job record in `status`, as the state machine would have left it. */
async function seed(jobId: string, status: string, error?: { code: string; cause: string }): Promise<void> {
  const request = { source: { type: 'http' as const, url: 'http://127.0.0.1/a.mp4' }, actions: ['download' as const], callback_url: hook.url };
  const table = { db: fx.runtime.operator.db, name: fx.runtime.config.JOBS_TABLE };
  await createQueued(table, { tenant: 'local', jobId, request, options: { connections: 1 }, ttlDays: 1 });
  await table.db.send(
    new UpdateCommand({
      TableName: table.name,
      Key: { tenant: 'local', jobId },
      UpdateExpression: error ? 'SET #s = :s, #e = :e' : 'SET #s = :s',
      ExpressionAttributeNames: { '#s': 'status', ...(error ? { '#e': 'error' } : {}) },
      ExpressionAttributeValues: { ':s': status, ...(error ? { ':e': error } : {}) },
    }),
  );
}

/** The event AWS documents for an execution's status change, for the job's execution. */
function statusChange(jobId: string, status: string, error: string | null = 'States.Runtime', cause: string | null = 'something broke') {
  const executionArn = `${ARN.replace(':stateMachine:', ':execution:')}:local-${jobId}`;
  return {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '000000000000',
    time: '2019-02-26T19:42:21Z',
    region: 'us-east-1',
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: ARN,
      name: `local-${jobId}`,
      status,
      startDate: 1551225146847,
      stopDate: 1551225151881,
      input: JSON.stringify({ tenant: 'local', jobId, request: { source: { type: 'http', url: 'http://127.0.0.1/a.mp4' }, actions: ['download'], callback_url: hook.url }, options: { connections: 4 } }),
      inputDetails: { included: true },
      output: null,
      outputDetails: null,
      error,
      cause,
    },
  };
}

const fx = withRuntime('reconcile', {
  env: { MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: '127.0.0.1', MEDIA_INGEST_CALLBACK_SECRET: 'test-callback-secret-0123456789' },
  setup: async ({ callbacks }) => {
    hook = await callbacks();
  },
});

describe('reconcile', () => {
  it.each([
    ['SUCCEEDED', undefined],
    ['FAILED', { code: 'SourceNotFound', cause: 'HTTP 404' }],
    ['CANCELLED', { code: 'Cancelled', cause: 'cancelled by the caller (DELETE /jobs/{id})' }],
  ])('leaves a %s job as it is and calls no one back', async (status, error) => {
    const jobId = `final-${status.toLowerCase()}`;
    await seed(jobId, status, error);
    const before = await fx.runtime.job(jobId);
    const result = await reconcile(statusChange(jobId, 'ABORTED', 'Cancelled', 'DELETE /jobs/{id}'), fx.runtime.deps('reconcile'));
    expect(result).toEqual({ executionArn: expect.any(String), jobId, recorded: false });
    expect(await fx.runtime.job(jobId)).toEqual(before);
    expect(hook.received.filter((r) => r.jobId === jobId)).toEqual([]);
  });

  it.each([
    ['FAILED', 'ExecutionFailed', 'the execution failed'],
    ['TIMED_OUT', 'ExecutionTimedOut', 'the execution timed out'],
    ['ABORTED', 'ExecutionAborted', 'the execution was stopped'],
  ])('records a RUNNING job whose execution ended %s as FAILED with %s, and calls back once', async (status, code, words) => {
    const jobId = `running-${status.toLowerCase()}`;
    await seed(jobId, 'RUNNING');
    const result = await reconcile(statusChange(jobId, status), fx.runtime.deps('reconcile'));
    expect(result).toMatchObject({ jobId, recorded: true, callback: { delivered: true, status: 204, attempts: 1 } });
    const record = await fx.runtime.job(jobId);
    expect(record).toMatchObject({ status: 'FAILED', error: { code, message: `${words} (States.Runtime: something broke)` }, callback: { delivered: true } });
    expect(hook.received.filter((r) => r.jobId === jobId)).toEqual([expect.objectContaining({ status: 'FAILED', error: expect.objectContaining({ code }) })]);
  });

  it('records a QUEUED job too, and a repeated event (EventBridge delivers at least once) changes nothing more', async () => {
    await seed('queued', 'QUEUED');
    const event = statusChange('queued', 'TIMED_OUT', null, null);
    expect(await reconcile(event, fx.runtime.deps('reconcile'))).toMatchObject({ recorded: true });
    const first = await fx.runtime.job('queued');
    expect(first).toMatchObject({ status: 'FAILED', error: { code: 'ExecutionTimedOut', message: 'the execution timed out' } });
    expect(await reconcile(event, fx.runtime.deps('reconcile'))).toMatchObject({ recorded: false });
    expect(await fx.runtime.job('queued')).toEqual(first);
    expect(hook.received.filter((r) => r.jobId === 'queued')).toHaveLength(1);
  });

  it('creates no record for a job that has none', async () => {
    expect(await reconcile(statusChange('ghost', 'FAILED'), fx.runtime.deps('reconcile'))).toMatchObject({ recorded: false });
    expect(await fx.runtime.job('ghost')).toBeUndefined();
  });

  it('refuses an event that is not a Step Functions status change', async () => {
    await expect(reconcile({ source: 'aws.events', detail: {} }, fx.runtime.deps('reconcile'))).rejects.toMatchObject({ name: 'InvalidRequest' });
  });
});
