import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { ASL_PATH } from '../../../local/engine.js';
import { LOCAL_SUBSTITUTIONS, substitute } from '../../../local/substitutions.js';

interface State {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  HeartbeatSeconds?: number;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Retry?: Array<{ ErrorEquals: string[] }>;
  Next?: string;
  Default?: string;
  Choices?: Array<{ Next: string }>;
}

const text = readFileSync(ASL_PATH, 'utf8');
const definition = JSON.parse(text) as { StartAt: string; States: Record<string, State>; QueryLanguage?: string };
const states = Object.entries(definition.States);
const tasks = states.filter(([, s]) => s.Type === 'Task');
const FAILURE_PATH = ['RecordFailure', 'NotifyFailure', 'JobFailed'];

describe('statemachine/pipeline.asl.json', () => {
  it('is valid ASL by asl-validator, with ARNs checked once the local values are substituted', () => {
    const validate = (aslValidator as unknown as { default?: typeof aslValidator }).default ?? aslValidator;
    const result = validate(JSON.parse(substitute(text, LOCAL_SUBSTITUTIONS)), { checkArn: true, checkPaths: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('uses JSONPath only', () => {
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(text).not.toMatch(/\{%/);
  });

  it('has the whole flow: Classify, Route, Extract, Merge, Transcribe, Publish, records, Notify and the failure path', () => {
    for (const name of ['Classify', 'Route', 'Extract', 'Merge', 'Transcribe', 'Publish', 'RecordRunning', 'RecordSucceeded', 'Notify', ...FAILURE_PATH]) {
      expect(definition.States[name]).toBeDefined();
    }
  });

  it.each(tasks)('gives Task %s an explicit TimeoutSeconds', (_name, state) => {
    expect(state.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('sends Extract, Merge and Transcribe to the work queue with only a reference, and no heartbeat deadline a backlog could pass', () => {
    const queued = tasks.filter(([, s]) => s.Resource === 'arn:aws:states:::sqs:sendMessage.waitForTaskToken');
    expect(queued.map(([n]) => n).sort()).toEqual(['Extract', 'Merge', 'Transcribe']);
    for (const [name, s] of queued) {
      expect((s as { Parameters?: unknown }).Parameters).toEqual({
        QueueUrl: '${WorkQueueUrl}',
        MessageBody: { step: name.toLowerCase(), 'taskToken.$': '$$.Task.Token', 'tenant.$': '$.tenant', 'jobId.$': '$.jobId' },
      });
      // A message may wait behind a burst longer than any heartbeat: the claim's liveness is the visibility timeout.
      expect(s.HeartbeatSeconds).toBeUndefined();
    }
  });

  it.each(tasks)('gives Task %s a Retry and a Catch of every error that leads to a recorded failure', (name, state) => {
    expect(state.Retry?.length).toBeGreaterThan(0);
    const catchAll = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
    expect(catchAll).toBeDefined();
    // Notify failures never fail the job; everything else goes through RecordFailure.
    if (name === 'Notify') expect(catchAll!.Next).toBe('Succeeded');
    else if (FAILURE_PATH.includes(name)) expect(FAILURE_PATH).toContain(catchAll!.Next);
    else expect(catchAll!.Next).toBe('RecordFailure');
  });

  it('retries only transient errors, never a permanent one like UnsafeUrl or NotMedia', () => {
    const retried = tasks.flatMap(([, s]) => s.Retry ?? []).flatMap((r) => r.ErrorEquals);
    for (const permanent of ['States.ALL', 'States.TaskFailed', 'UnsafeUrl', 'NotMedia', 'SourceNotFound', 'InvalidRequest']) {
      expect(retried).not.toContain(permanent);
    }
    expect(retried).toContain('SourceUnavailable');
  });

  it('reaches every state from StartAt', () => {
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const s = definition.States[name]!;
      for (const next of [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next), ...(s.Catch ?? []).map((c) => c.Next)]) {
        if (next) visit(next);
      }
    };
    visit(definition.StartAt);
    expect([...seen].sort()).toEqual(Object.keys(definition.States).sort());
  });
});
