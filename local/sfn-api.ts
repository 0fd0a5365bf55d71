import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecutionAlreadyExists, type Execution, InvalidExecutionInput, InvalidName, type LocalEngine } from './engine.js';
import { LOCAL_STATE_MACHINE_ARN } from './substitutions.js';
import type { TaskTokens } from './task-tokens.js';

/** A Step Functions API error in the AWS JSON 1.0 shape the SDK reads. */
class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

type Body = Record<string, unknown>;
const seconds = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined);

function describe(e: Execution): Body {
  return {
    executionArn: e.executionArn,
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    name: e.name,
    status: e.status,
    startDate: seconds(e.startDate),
    stopDate: seconds(e.stopDate),
    input: e.input,
    output: e.output,
    error: e.error,
    cause: e.cause,
  };
}

/** The loopback Step Functions API: what start-job and the workers call, answered by the local engine. */
export function sfnOperations(engine: LocalEngine, tokens: TaskTokens): Record<string, (body: Body) => Body> {
  const execution = (arn: unknown) => {
    const e = engine.get(String(arn));
    if (!e) throw new ApiError('ExecutionDoesNotExist', `execution ${String(arn)} does not exist`);
    return e;
  };
  const settled = (ok: boolean, token: unknown) => {
    if (!ok) throw new ApiError('TaskDoesNotExist', `task ${String(token).slice(0, 12)}… is not waiting`);
    return {};
  };
  return {
    StartExecution(body) {
      if (body.stateMachineArn !== LOCAL_STATE_MACHINE_ARN) {
        throw new ApiError('StateMachineDoesNotExist', `state machine ${String(body.stateMachineArn)} does not exist`);
      }
      // AWS refuses a name over 80 characters or (on a machine with logging) outside letters, digits, "-" and "_".
      try {
        const e = engine.start(String(body.name), String(body.input ?? '{}'));
        return { executionArn: e.executionArn, startDate: seconds(e.startDate) };
      } catch (err) {
        if (err instanceof ExecutionAlreadyExists || err instanceof InvalidName || err instanceof InvalidExecutionInput) throw new ApiError(err.name, err.message);
        throw err;
      }
    },
    DescribeExecution: (body) => describe(execution(body.executionArn)),
    StopExecution(body) {
      const e = execution(body.executionArn);
      const text = (v: unknown) => (v === undefined ? undefined : String(v));
      e.abort(text(body.error), text(body.cause));
      tokens.abandon(e.name);
      return { stopDate: Date.now() / 1000 };
    },
    SendTaskSuccess: (body) => settled(tokens.succeed(String(body.taskToken), JSON.parse(String(body.output))), body.taskToken),
    SendTaskFailure: (body) =>
      settled(tokens.fail(String(body.taskToken), String(body.error ?? 'States.TaskFailed'), String(body.cause ?? '')), body.taskToken),
    SendTaskHeartbeat: (body) => settled(tokens.heartbeat(String(body.taskToken)), body.taskToken),
  };
}

async function readBody(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body) : {};
}

function reply(res: ServerResponse, status: number, body: Body): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify(body));
}

export async function startSfnApi(operations: Record<string, (body: Body) => Body>): Promise<{ endpoint: string; server: Server }> {
  const server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = operations[target.replace(/^AWSStepFunctions\./, '')];
    readBody(req)
      .then((body) => {
        if (!operation) throw new ApiError('UnknownOperationException', `the local runtime does not implement ${target}`);
        reply(res, 200, operation(body));
      })
      .catch((err: Error) => {
        if (err instanceof ApiError) reply(res, 400, { __type: err.type, message: err.message });
        else reply(res, 500, { __type: 'InternalFailure', message: err.message });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
