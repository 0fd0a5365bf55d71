import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { EXECUTION_STATUS_CHANGE, type ExecutionStatusChange, UNRECORDED_ENDS } from '../core/execution-events.js';
import { logger } from '../core/logger.js';
import { adapterFor, type Adapter, type AdapterContext } from './adapters.js';
import { LOCAL_REGION, LOCAL_STATE_MACHINE_ARN, LOCAL_SUBSTITUTIONS, substitute } from './substitutions.js';
import { executionArn as arnOf } from '../core/job.js';

export const ASL_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'statemachine', 'pipeline.asl.json');

/** Step Functions' limit on the data a state takes or gives (UTF-8 bytes of its JSON). */
export const STATE_PAYLOAD_LIMIT = 256 * 1024;
/** Step Functions' limit on an execution's name. */
export const EXECUTION_NAME_LIMIT = 80;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface Execution {
  executionArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  events: unknown[];
  done: Promise<void>;
  /** StopExecution: its error and cause are the execution's, as on AWS. */
  abort(error?: string, cause?: string): void;
}

export interface EngineOptions {
  /** Replaces every Retry's backoff (tests of hostile sources); by default the ASL's own applies. */
  retryIntervalMs?: number;
  /** Called with the EventBridge event AWS would send when an execution ends FAILED, TIMED_OUT or ABORTED. */
  onEnded?: (event: ExecutionStatusChange) => Promise<unknown>;
  /** The values of the ASL's `${Key}` placeholders here. Default: LOCAL_SUBSTITUTIONS. */
  substitutions?: Record<string, string>;
}

export class ExecutionAlreadyExists extends Error {
  override name = 'ExecutionAlreadyExists';
}

export class InvalidName extends Error {
  override name = 'InvalidName';
}

export class InvalidExecutionInput extends Error {
  override name = 'InvalidExecutionInput';
}

interface AnyState {
  Type: string;
  Resource?: string;
  Branches?: Array<{ States: Record<string, AnyState> }>;
  ItemProcessor?: { States: Record<string, AnyState> };
  Iterator?: { States: Record<string, AnyState> };
}

/** Every Task state, nested ones included, by name (overrides are keyed by state name). */
function taskStates(states: Record<string, AnyState>, out: Record<string, AnyState> = {}): Record<string, AnyState> {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') out[name] = state;
    for (const branch of state.Branches ?? []) taskStates(branch.States, out);
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) taskStates(inner.States, out);
  }
  return out;
}

/** Runs statemachine/pipeline.asl.json with aws-local-stepfunctions, mapping each Task by its Resource. */
export class LocalEngine {
  private readonly executions = new Map<string, Execution>();

  private machine!: StateMachine;
  private handlers: Record<string, Adapter> = {};
  private retryIntervals: Record<string, number> = {};
  private timeoutSeconds: number | undefined;

  private constructor(
    private readonly historyDir: string,
    private readonly ctx: AdapterContext,
    private readonly options: EngineOptions,
  ) {}

  /** `definition` is the one the synthesised template deploys (placeholders in, its timeouts from the configuration). */
  static async create(ctx: AdapterContext, definition: string, historyDir: string, options: EngineOptions = {}): Promise<LocalEngine> {
    await mkdir(historyDir, { recursive: true });
    const engine = new LocalEngine(historyDir, ctx, options);
    engine.redefine(definition);
    return engine;
  }

  /** Runs later executions on another definition (an update of the state machine); running ones keep theirs. */
  redefine(definition: string): void {
    const parsed = JSON.parse(substitute(definition, this.options.substitutions ?? LOCAL_SUBSTITUTIONS)) as StateMachineDefinition;
    this.machine = new StateMachine(parsed, { validationOptions: { checkArn: true, checkPaths: true } });
    this.handlers = {};
    for (const [name, state] of Object.entries(taskStates(parsed.States as Record<string, AnyState>))) {
      this.handlers[name] = adapterFor(state as Parameters<typeof adapterFor>[0], this.ctx);
    }
    this.retryIntervals = {};
    const interval = this.options.retryIntervalMs;
    if (interval !== undefined) for (const name of Object.keys(this.handlers)) this.retryIntervals[name] = interval;
    this.timeoutSeconds = parsed.TimeoutSeconds;
  }

  start(name: string, input: string): Execution {
    const timeoutSeconds = this.timeoutSeconds;
    const executionArn = arnOf(LOCAL_STATE_MACHINE_ARN, name);
    if (this.executions.has(executionArn)) throw new ExecutionAlreadyExists(`execution ${name} already exists`);
    if (name.length > EXECUTION_NAME_LIMIT || !/^[A-Za-z0-9_-]+$/.test(name)) {
      throw new InvalidName(`execution name ${name} is not 1-${EXECUTION_NAME_LIMIT} letters, digits, '-' or '_'`);
    }
    if (Buffer.byteLength(input) > STATE_PAYLOAD_LIMIT) throw new InvalidExecutionInput(`the input is ${Buffer.byteLength(input)} bytes; the limit is ${STATE_PAYLOAD_LIMIT}`);
    const run = this.machine.run(JSON.parse(input), {
      overrides: { taskResourceLocalHandlers: this.handlers as never, retryIntervalOverrides: this.retryIntervals },
      context: {
        Execution: { Id: executionArn, Name: name, RoleArn: 'arn:aws:iam::000000000000:role/local' },
        // $$.State.EnteredTime and $$.Task.Token are read when a state's Parameters are evaluated.
        State: {
          get EnteredTime() {
            return new Date().toISOString();
          },
        },
        Task: {
          get Token() {
            return randomUUID();
          },
        },
      },
    });
    let stopped: { error?: string; cause?: string } = {};
    const execution: Execution = {
      executionArn,
      name,
      status: 'RUNNING',
      input,
      startDate: new Date(),
      events: [],
      abort: (error, cause) => {
        stopped = { error, cause };
        run.abort();
      },
      done: Promise.resolve(),
    };
    // Every transition is held to AWS's payload limit; past it the execution fails, as AWS fails it (not catchable).
    let overLimit: string | undefined;
    const collect = (async () => {
      for await (const event of run.eventLogs) {
        execution.events.push(event);
        const state = (event as { state?: { name: string; input?: unknown; output?: unknown } }).state;
        for (const data of [state?.input, state?.output]) {
          const bytes = data === undefined ? 0 : Buffer.byteLength(JSON.stringify(data));
          if (bytes > STATE_PAYLOAD_LIMIT && !overLimit) {
            overLimit = `state ${state!.name} has ${bytes} bytes of data; the limit is ${STATE_PAYLOAD_LIMIT}`;
            run.abort();
          }
        }
      }
    })();
    execution.done = run.result
      .then(
        (output) => {
          execution.status = 'SUCCEEDED';
          execution.output = JSON.stringify(output);
        },
        (err: Error) => {
          const cause = err.cause as Error | undefined;
          if (overLimit) {
            execution.status = 'FAILED';
            execution.error = 'States.DataLimitExceeded';
            execution.cause = overLimit;
          } else if (err.name === 'ExecutionAbortedError') {
            execution.status = 'ABORTED';
            Object.assign(execution, stopped);
          } else if (err.name === 'ExecutionTimeoutError') {
            // The library rejects with its own error when the top-level TimeoutSeconds passes; AWS says TIMED_OUT.
            execution.status = 'TIMED_OUT';
            execution.error = 'States.Timeout';
            execution.cause = `the execution ran longer than its TimeoutSeconds (${timeoutSeconds} s)`;
          } else {
            execution.status = 'FAILED';
            execution.error = cause?.name ?? err.name;
            execution.cause = cause?.message ?? err.message;
          }
        },
      )
      .then(async () => {
        execution.stopDate = new Date();
        // Tasks still waiting (a worker mid-step) end with their execution, as on AWS.
        this.ctx.tokens.abandon(name);
        await collect.catch(() => undefined);
        // The last states' data is checked once their events are read: an execution over the limit never succeeded.
        if (overLimit && execution.status !== 'FAILED') {
          Object.assign(execution, { status: 'FAILED', error: 'States.DataLimitExceeded', cause: overLimit, output: undefined });
        }
        await this.saveHistory(execution);
        if (this.options.onEnded && (UNRECORDED_ENDS as readonly string[]).includes(execution.status)) {
          // A reconcile that throws is logged; on AWS EventBridge would retry it and then dead-letter it.
          await this.options.onEnded(statusChangeEvent(execution)).catch((err: unknown) => logger.error('onEnded failed', { execution: name, error: err as Error }));
        }
      });
    this.executions.set(executionArn, execution);
    return execution;
  }

  get(executionArn: string): Execution | undefined {
    return this.executions.get(executionArn);
  }

  /** Executions still running. */
  running(): Execution[] {
    return [...this.executions.values()].filter((e) => e.status === 'RUNNING');
  }

  /** Waits for every execution still running (used on shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.executions.values()].map((e) => e.done));
  }

  /** The execution history on disk, for operators: status, input, output or error, and every event. */
  private async saveHistory(e: Execution): Promise<void> {
    const { done: _done, abort: _abort, ...record } = e;
    await writeFile(join(this.historyDir, `${e.name}.json`), JSON.stringify(record, null, 2));
  }
}

/** The "Step Functions Execution Status Change" event EventBridge receives for an execution, in AWS's shape. */
export function statusChangeEvent(e: Execution): ExecutionStatusChange {
  const time = (e.stopDate ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': EXECUTION_STATUS_CHANGE,
    source: 'aws.states',
    account: LOCAL_STATE_MACHINE_ARN.split(':')[4]!,
    time,
    region: LOCAL_REGION,
    resources: [e.executionArn],
    detail: {
      executionArn: e.executionArn,
      stateMachineArn: LOCAL_STATE_MACHINE_ARN,
      name: e.name,
      status: e.status,
      startDate: e.startDate.getTime(),
      stopDate: e.stopDate?.getTime() ?? null,
      input: e.input,
      inputDetails: { included: true },
      output: e.output ?? null,
      outputDetails: e.output === undefined ? null : { included: true },
      error: e.error ?? null,
      cause: e.cause ?? null,
    },
  };
}
