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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorCause } from '../core/errors.js';
import { executionName } from '../core/job.js';
import { handler as classify } from '../lambdas/classify/handler.js';
import { handler as notify } from '../lambdas/notify/handler.js';
import { handler as publish } from '../lambdas/publish/handler.js';
import { LOCAL_SUBSTITUTIONS } from './substitutions.js';
import { TaskFailure, type TaskTokens } from './task-tokens.js';

type Json = unknown;
export type Adapter = (input: Json) => Promise<Json>;

interface TaskState {
  Resource: string;
  TimeoutSeconds?: number;
  HeartbeatSeconds?: number;
}

export interface AdapterContext {
  tokens: TaskTokens;
  /** Variables the worker gets besides the ECS overrides: endpoints of the stand-ins and the loopback SFN API. */
  workerEnv: Record<string, string>;
  logDir: string;
  /** The stand-in's client, owned (and destroyed) by the runtime. */
  dynamo: DynamoDBClient;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WORKER_ENTRY = join(ROOT, 'containers', 'media-worker', 'main.ts');

/** `lambda:invoke` → the same handler module, in-process; a thrown error reaches the ASL as Lambda reports it. */
function lambdaAdapter(): Adapter {
  const handlers: Record<string, (event: Json) => Promise<Json>> = {
    [LOCAL_SUBSTITUTIONS.ClassifyFunctionArn]: classify,
    [LOCAL_SUBSTITUTIONS.PublishFunctionArn]: publish,
    [LOCAL_SUBSTITUTIONS.NotifyFunctionArn]: notify,
  };
  return async (input) => {
    const { FunctionName, Payload } = input as { FunctionName: string; Payload: Json };
    const fn = handlers[FunctionName];
    if (!fn) throw new TaskFailure('Lambda.ResourceNotFoundException', `no local handler for ${FunctionName}`);
    try {
      return { StatusCode: 200, Payload: JSON.parse(JSON.stringify((await fn(Payload)) ?? null)) as Json };
    } catch (err) {
      throw new TaskFailure((err as Error).name, errorCause(err));
    }
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
    const container = params.Overrides?.ContainerOverrides?.find((c) => c.Name === LOCAL_SUBSTITUTIONS.WorkerContainerName);
    const overrides = Object.fromEntries((container?.Environment ?? []).map((e) => [e.Name, e.Value]));
    const token = overrides.TASK_TOKEN;
    if (!token) throw new TaskFailure('ECS.InvalidParameterException', 'the container overrides carry no TASK_TOKEN');
    const { tenant, jobId } = JSON.parse(overrides.STEP_INPUT ?? '{}') as { tenant?: string; jobId?: string };
    const owner = executionName(String(tenant), String(jobId));

    const logFile = join(ctx.logDir, `${String(++workerRuns).padStart(4, '0')}-${overrides.STEP ?? 'worker'}.log`);
    await mkdir(ctx.logDir, { recursive: true });
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], {
      cwd: ROOT,
      env: { ...process.env, ...ctx.workerEnv, ...overrides },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
        child.kill('SIGTERM');
        setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), STOP_GRACE_MS).unref();
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
export function adapterFor(state: TaskState, ctx: AdapterContext, lambda = lambdaAdapter()): Adapter {
  const match = /^arn:aws:states:::([a-z]+):([A-Za-z.]+)$/.exec(state.Resource);
  if (!match) throw new Error(`the local runtime cannot run resource ${state.Resource}`);
  const [, service, action] = match;
  if (service === 'lambda' && action === 'invoke') return lambda;
  if (service === 'ecs' && action === 'runTask.waitForTaskToken') return ecsAdapter(state, ctx);
  if (service === 'dynamodb') return dynamoAdapter(action!, ctx);
  throw new Error(`the local runtime cannot run resource ${state.Resource}`);
}
