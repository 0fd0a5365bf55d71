import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { adapterFor, type Adapter, type AdapterContext } from './adapters.js';
import { LOCAL_STATE_MACHINE_ARN, LOCAL_SUBSTITUTIONS, substitute } from './substitutions.js';
import { executionArn as arnOf } from '../core/job.js';

export const ASL_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'statemachine', 'pipeline.asl.json');

/** Step Functions' limit on the data a state takes or gives (UTF-8 bytes of its JSON). */
export const STATE_PAYLOAD_LIMIT = 256 * 1024;
/** Step Functions' limit on an execution's name. */
export const EXECUTION_NAME_LIMIT = 80;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

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
  abort(): void;
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

  private constructor(
    private readonly machine: StateMachine,
    private readonly handlers: Record<string, Adapter>,
    private readonly historyDir: string,
    private readonly retryIntervals: Record<string, number>,
  ) {}

  /**
   * `definition` is the one the synthesised template deploys (placeholders in). `retryIntervalMs` replaces every
   * Retry's backoff (tests of hostile sources); by default the ASL's own applies.
   */
  static async create(ctx: AdapterContext, definition: string, historyDir: string, retryIntervalMs?: number): Promise<LocalEngine> {
    const parsed = JSON.parse(substitute(definition, LOCAL_SUBSTITUTIONS)) as StateMachineDefinition;
    const machine = new StateMachine(parsed, { validationOptions: { checkArn: true, checkPaths: true } });
    const handlers: Record<string, Adapter> = {};
    for (const [name, state] of Object.entries(taskStates(parsed.States as Record<string, AnyState>))) {
      handlers[name] = adapterFor(state as Parameters<typeof adapterFor>[0], ctx);
    }
    await mkdir(historyDir, { recursive: true });
    const retryIntervals: Record<string, number> = {};
    if (retryIntervalMs !== undefined) for (const name of Object.keys(handlers)) retryIntervals[name] = retryIntervalMs;
    return new LocalEngine(machine, handlers, historyDir, retryIntervals);
  }

  start(name: string, input: string): Execution {
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
    const execution: Execution = {
      executionArn,
      name,
      status: 'RUNNING',
      input,
      startDate: new Date(),
      events: [],
      abort: run.abort,
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
          execution.status = err.name === 'ExecutionAbortedError' && !overLimit ? 'ABORTED' : 'FAILED';
          execution.error = overLimit ? 'States.DataLimitExceeded' : (cause?.name ?? err.name);
          execution.cause = overLimit ?? cause?.message ?? err.message;
        },
      )
      .then(async () => {
        execution.stopDate = new Date();
        await collect.catch(() => undefined);
        await this.saveHistory(execution);
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
