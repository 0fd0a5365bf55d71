import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { lambdaError } from '../core/errors.js';
import { executionName } from '../core/job.js';
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
  /** The Lambdas the ASL invokes, by function ARN (their entries on the template's environments and limits). */
  lambdas: () => Record<string, (event: Json) => Promise<Json>>;
  /** The engine's client on the SQS stand-in: its calls are the state machine's, held to its role. */
  sqs: SQSClient;
  /** The stand-in's client, owned (and destroyed) by the runtime. */
  dynamo: DynamoDBClient;
}

/** Lambda's limit on a synchronous invocation's request and response. */
export const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;

/**
 * `lambda:invoke` → the same handler (local/lambda-threads.ts: in a thread, within its memory and timeout); a thrown
 * error, or the runtime's own failure, reaches the ASL as Lambda reports it.
 */
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
      if (err instanceof TaskFailure) throw err;
      const { error, cause } = lambdaError(err);
      throw new TaskFailure(error, cause);
    }
    if (Buffer.byteLength(response) > LAMBDA_PAYLOAD_LIMIT) {
      throw new TaskFailure('Lambda.ResponseSizeTooLarge', `the response is ${Buffer.byteLength(response)} bytes; Lambda returns ${LAMBDA_PAYLOAD_LIMIT}`);
    }
    return { StatusCode: 200, Payload: JSON.parse(response) as Json };
  };
}

/** SQS's own error names reach the ASL as Step Functions names them: a service error or a client-side one. */
function sqsFailure(err: Error & { $fault?: string }): TaskFailure {
  return new TaskFailure(err.$fault ? 'SQS.AmazonSQSException' : 'SQS.SdkClientException', `${err.name}: ${err.message}`);
}

/**
 * `sqs:sendMessage.waitForTaskToken` → the message on the SQS stand-in, as Step Functions sends it; the task then
 * waits for its token, answered by a worker of the pool through the loopback SFN API, until TimeoutSeconds (and
 * HeartbeatSeconds, when the state has one) pass, or its execution stops.
 */
function sqsAdapter(state: TaskState, ctx: AdapterContext): Adapter {
  return async (input) => {
    const { QueueUrl, MessageBody } = input as { QueueUrl: string; MessageBody: unknown };
    const body = typeof MessageBody === 'string' ? MessageBody : JSON.stringify(MessageBody);
    const token = (MessageBody as { taskToken?: string } | undefined)?.taskToken;
    if (!token) throw new TaskFailure('States.Runtime', 'the message carries no taskToken: no worker could answer it');
    const { tenant, jobId } = MessageBody as { tenant?: string; jobId?: string };
    return new Promise<Json>((resolve, reject) => {
      let heartbeatTimer: NodeJS.Timeout | undefined;
      const settle = (result: Error | { output: Json }) => {
        clearTimeout(heartbeatTimer);
        clearTimeout(timeout);
        ctx.tokens.forget(token);
        if (result instanceof Error) reject(result);
        else resolve(result.output);
      };
      const armHeartbeat = () => {
        clearTimeout(heartbeatTimer);
        if (state.HeartbeatSeconds) {
          heartbeatTimer = setTimeout(() => settle(new TaskFailure('States.HeartbeatTimeout', `no heartbeat in ${state.HeartbeatSeconds} s`)), state.HeartbeatSeconds * 1000);
        }
      };
      const timeout = setTimeout(() => settle(new TaskFailure('States.Timeout', `no answer within TimeoutSeconds (${state.TimeoutSeconds ?? 60} s)`)), (state.TimeoutSeconds ?? 60) * 1000);
      // Registered before the send: a warm worker may answer before SendMessage returns.
      ctx.tokens.register(token, {
        owner: executionName(String(tenant), String(jobId)),
        resolve: (output) => settle({ output }),
        reject: (err) => settle(err),
        abort: (err) => settle(err),
        onHeartbeat: armHeartbeat,
      });
      armHeartbeat();
      ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body })).catch((err: Error) => settle(sqsFailure(err)));
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
  if (service === 'sqs' && action === 'sendMessage.waitForTaskToken') return sqsAdapter(state, ctx);
  if (service === 'dynamodb') return dynamoAdapter(action!, ctx);
  throw new Error(`the local runtime cannot run resource ${state.Resource}`);
}
