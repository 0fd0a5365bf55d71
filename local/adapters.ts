import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCause } from '../core/errors.js';
import { executionName } from '../core/job.js';
import { LOCAL_SUBSTITUTIONS } from './substitutions.js';
import { sandboxed } from './sandbox.js';
import { TaskFailure, type TaskTokens } from './task-tokens.js';

type Json = unknown;
export type Adapter = (input: Json) => Promise<Json>;

interface TaskState {
  Resource: string;
  TimeoutSeconds?: number;
  HeartbeatSeconds?: number;
}

/** How the worker task runs here: the image's bundle, the task definition's environment, the scratch it may write. */
export interface WorkerTask {
  bundle: string;
  /** The template's environment (local values in) plus the stand-ins' endpoints; the ECS overrides go on top. */
  env: Record<string, string>;
  scratch: string;
  /** Under bubblewrap, as Fargate runs it: read-only root, only the scratch writable, a non-root user. */
  sandbox: boolean;
}

export interface AdapterContext {
  tokens: TaskTokens;
  /** The Lambdas the ASL invokes, by function ARN (their entry points on the template's environments). */
  lambdas: () => Record<string, (event: Json) => Promise<Json>>;
  /** Read at each run: the runtime may be reconfigured between jobs. */
  worker: () => WorkerTask;
  /** The process groups of the tasks running now. */
  running: Set<number>;
  logDir: string;
  /** The stand-in's client, owned (and destroyed) by the runtime. */
  dynamo: DynamoDBClient;
}

/** Lambda's limit on a synchronous invocation's request and response. */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;
/** ECS refuses a RunTask whose overrides are longer than this (characters of their JSON). */
export const ECS_OVERRIDES_LIMIT = 8192;

/** `lambda:invoke` → the same handler, in-process; a thrown error reaches the ASL as Lambda reports it. */
function lambdaAdapter(ctx: AdapterContext): Adapter {
  return async (input) => {
    const { FunctionName, Payload } = input as { FunctionName: string; Payload: Json };
    const request = JSON.stringify(Payload ?? null);
    if (Buffer.byteLength(request) > LAMBDA_PAYLOAD_LIMIT) {
      throw new TaskFailure('Lambda.RequestTooLargeException', `the request is ${Buffer.byteLength(request)} bytes; Lambda takes ${LAMBDA_PAYLOAD_LIMIT}`);
    }
    const fn = ctx.lambdas()[FunctionName];
    if (!fn) throw new TaskFailure('Lambda.ResourceNotFoundException', `no local handler for ${FunctionName}`);
    let response: string;
    try {
      response = JSON.stringify((await fn(JSON.parse(request))) ?? null);
    } catch (err) {
      throw new TaskFailure((err as Error).name, errorCause(err));
    }
    if (Buffer.byteLength(response) > LAMBDA_PAYLOAD_LIMIT) {
      throw new TaskFailure('Lambda.ResponseSizeTooLarge', `the response is ${Buffer.byteLength(response)} bytes; Lambda returns ${LAMBDA_PAYLOAD_LIMIT}`);
    }
    return { StatusCode: 200, Payload: JSON.parse(response) as Json };
  };
}

interface RunTaskInput {
  TaskDefinition: string;
  Overrides?: { ContainerOverrides?: Array<{ Name: string; Environment?: Array<{ Name: string; Value: string }> }> };
}

let workerRuns = 0;
const REPORTED_EXIT_GRACE_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/**
 * `ecs:runTask.waitForTaskToken` → the worker entrypoint as a child process with the overrides' environment.
 * The worker reports through the loopback SFN API; one that exits without reporting, stops sending
 * heartbeats or outlives TimeoutSeconds is killed and fails the task as AWS would.
 */
function ecsAdapter(state: TaskState, ctx: AdapterContext): Adapter {
  return async (input) => {
    const params = input as RunTaskInput;
    if (params.TaskDefinition !== LOCAL_SUBSTITUTIONS.WorkerTaskDefinitionArn) {
      throw new TaskFailure('ECS.InvalidParameterException', `unknown task definition ${params.TaskDefinition}`);
    }
    const length = JSON.stringify(params.Overrides ?? {}).length;
    if (length > ECS_OVERRIDES_LIMIT) {
      throw new TaskFailure('ECS.AmazonECSException', `Container Overrides length must be at most ${ECS_OVERRIDES_LIMIT} (it is ${length})`);
    }
    const container = params.Overrides?.ContainerOverrides?.find((c) => c.Name === LOCAL_SUBSTITUTIONS.WorkerContainerName);
    const overrides = Object.fromEntries((container?.Environment ?? []).map((e) => [e.Name, e.Value]));
    const token = overrides.TASK_TOKEN;
    if (!token) throw new TaskFailure('ECS.InvalidParameterException', 'the container overrides carry no TASK_TOKEN');
    const owner = executionName(String(overrides.TENANT), String(overrides.JOB_ID));
    const task = ctx.worker();

    const logFile = join(ctx.logDir, `${String(++workerRuns).padStart(4, '0')}-${overrides.STEP ?? 'worker'}.log`);
    await mkdir(ctx.logDir, { recursive: true });
    const log = createWriteStream(logFile);
    const command = [process.execPath, task.bundle];
    const [file, ...args] = task.sandbox ? sandboxed(command, task.scratch) : command;
    // Its own process group, as a task is apart from the caller: a terminal's Ctrl-C does not reach it, and a stop
    // reaches everything in it (bubblewrap and the worker inside).
    const child = spawn(file!, args, { env: { ...task.env, ...overrides }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    ctx.running.add(child.pid!);
    child.once('exit', () => ctx.running.delete(child.pid!));
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, name);
      } catch {
        // already gone
      }
    };
    child.stdout.pipe(log, { end: false });
    let stderrTail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      log.write(chunk);
      stderrTail = (stderrTail + chunk.toString()).slice(-2000);
    });

    return new Promise<Json>((resolve, reject) => {
      let settled = false;
      let heartbeatTimer: NodeJS.Timeout | undefined;
      // SIGTERM first, as ECS stops a task: the worker kills its tools and removes its scratch; SIGKILL if it lingers.
      const kill = () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        signal('SIGTERM');
        setTimeout(() => child.exitCode === null && child.signalCode === null && signal('SIGKILL'), STOP_GRACE_MS).unref();
      };
      const settle = (result: Error | { output: Json }, reported = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(heartbeatTimer);
        clearTimeout(timeout);
        ctx.tokens.forget(token);
        // A worker that has reported exits by itself; one that lingers is stopped, as ECS would stop it.
        if (reported) setTimeout(kill, REPORTED_EXIT_GRACE_MS).unref();
        else kill();
        if (result instanceof Error) reject(result);
        else resolve(result.output);
      };
      const armHeartbeat = () => {
        clearTimeout(heartbeatTimer);
        if (state.HeartbeatSeconds) {
          heartbeatTimer = setTimeout(
            () => settle(new TaskFailure('States.HeartbeatTimeout', `no heartbeat from the worker in ${state.HeartbeatSeconds} s`)),
            state.HeartbeatSeconds * 1000,
          );
        }
      };
      // The engine stops waiting at TimeoutSeconds; the worker must not run on after it.
      const timeout = setTimeout(
        () => settle(new TaskFailure('States.Timeout', 'the worker outlived TimeoutSeconds')),
        (state.TimeoutSeconds ?? 60) * 1000,
      );
      ctx.tokens.register(token, {
        owner,
        resolve: (output) => settle({ output }, true),
        reject: (err) => settle(err, true),
        abort: (err) => settle(err),
        onHeartbeat: armHeartbeat,
      });
      armHeartbeat();
      child.on('exit', (code, signal) => {
        log.end();
        // A worker that dies before reporting is a lost task; on AWS its heartbeat would time out.
        const tail = stderrTail.trim().split('\n').slice(-3).join(' | ');
        settle(new TaskFailure('States.HeartbeatTimeout', `the worker exited (${signal ?? `code ${code}`}) without reporting: ${tail}`));
      });
    });
  };
}

const DYNAMODB_ACTIONS = { getItem: GetItemCommand, putItem: PutItemCommand, updateItem: UpdateItemCommand, deleteItem: DeleteItemCommand };

/** `dynamodb:*` → the same call against dynalite; errors named `DynamoDB.<Exception>` as Step Functions names them. */
function dynamoAdapter(action: string, ctx: AdapterContext): Adapter {
  // All four take their API input as is; one constructor type stands for them.
  const Command = DYNAMODB_ACTIONS[action as keyof typeof DYNAMODB_ACTIONS] as unknown as (new (input: unknown) => UpdateItemCommand) | undefined;
  if (!Command) throw new Error(`the local runtime has no DynamoDB action ${action}`);
  const client = ctx.dynamo;
  return async (input) => {
    try {
      // The ASL's Parameters are this API's input, field for field.
      const out = (await client.send(new Command(input))) as unknown as Record<string, unknown>;
      delete out.$metadata;
      return out;
    } catch (err) {
      throw new TaskFailure(`DynamoDB.${(err as Error).name}`, (err as Error).message);
    }
  };
}

/** The adapter for a Task state, chosen by its Resource. */
export function adapterFor(state: TaskState, ctx: AdapterContext, lambda = lambdaAdapter(ctx)): Adapter {
  const match = /^arn:aws:states:::([a-z]+):([A-Za-z.]+)$/.exec(state.Resource);
  if (!match) throw new Error(`the local runtime cannot run resource ${state.Resource}`);
  const [, service, action] = match;
  if (service === 'lambda' && action === 'invoke') return lambda;
  if (service === 'ecs' && action === 'runTask.waitForTaskToken') return ecsAdapter(state, ctx);
  if (service === 'dynamodb') return dynamoAdapter(action!, ctx);
  throw new Error(`the local runtime cannot run resource ${state.Resource}`);
}
