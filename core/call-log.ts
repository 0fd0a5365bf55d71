import { appendFileSync } from 'node:fs';

/**
 * Records every AWS SDK call a component makes as the IAM action(s) it needs, so a test can prove them against the
 * synthesised roles offline (test/fixtures/iam.ts). Opt-in: nothing is recorded unless `recordCalls` is called.
 */

/** What a call acted on, by the names the caller used (local or AWS): the evaluator maps them to the template's. */
export type CallResource =
  | { bucket: string; key?: string; prefix?: string }
  | { table: string; index?: string }
  | { stateMachine: string }
  | { execution: string }
  | { secret: string }
  | { transcriptionJob: string; outputBucket?: string }
  | { function: string }
  | { taskDefinition: string }
  | { role: string }
  | { queue: string }
  | { unsupported: string };

export interface RecordedCall {
  /** 'classify', 'publish', …, 'worker' or 'statemachine'. */
  component: string;
  /** IAM service prefix: s3, dynamodb, states, secretsmanager, transcribe. */
  service: string;
  /** IAM action, e.g. s3:PutObject. */
  action: string;
  resource: CallResource;
  /** The SDK command it came from (multipart commands imply more KMS use than a single PUT). */
  command?: string;
}

/** The client's serviceId → IAM service prefix. */
const SERVICES: Record<string, string> = {
  S3: 's3',
  DynamoDB: 'dynamodb',
  SFN: 'states',
  'Secrets Manager': 'secretsmanager',
  Transcribe: 'transcribe',
  SQS: 'sqs',
};

/** SDK command names whose IAM action is not `<service>:<command>`; lib-dynamodb's short names included. */
const ACTIONS: Record<string, string> = {
  ListObjectsV2: 'ListBucket',
  ListObjects: 'ListBucket',
  HeadBucket: 'ListBucket',
  HeadObject: 'GetObject',
  CreateMultipartUpload: 'PutObject',
  UploadPart: 'PutObject',
  CompleteMultipartUpload: 'PutObject',
  CopyObject: 'PutObject',
  UploadPartCopy: 'PutObject',
  ListMultipartUploads: 'ListBucketMultipartUploads',
  ListParts: 'ListMultipartUploadParts',
  DeleteObjects: 'DeleteObject',
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
};

type Input = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** `bucket/key` (URL-encoded, optionally with ?versionId) of CopyObject/UploadPartCopy → the source object. */
function copySource(source: string): { bucket: string; key: string } {
  const [path] = source.replace(/^\//, '').split('?');
  const [bucket, ...key] = path!.split('/');
  return { bucket: bucket!, key: decodeURIComponent(key.join('/')) };
}

function resourceOf(service: string, input: Input): CallResource {
  switch (service) {
    case 's3':
      if (input.Key !== undefined) return { bucket: str(input.Bucket), key: str(input.Key) };
      return input.Prefix !== undefined ? { bucket: str(input.Bucket), prefix: str(input.Prefix) } : { bucket: str(input.Bucket) };
    case 'dynamodb':
      return input.IndexName ? { table: str(input.TableName), index: str(input.IndexName) } : { table: str(input.TableName) };
    case 'states':
      if (input.executionArn) return { execution: str(input.executionArn) };
      // SendTask* carry only a token: AWS authorises them against the token's state machine, which the caller names.
      return { stateMachine: str(input.stateMachineArn) };
    case 'secretsmanager':
      return { secret: str(input.SecretId) };
    case 'transcribe':
      return { transcriptionJob: str(input.TranscriptionJobName), ...(input.OutputBucketName ? { outputBucket: str(input.OutputBucketName) } : {}) };
    case 'sqs':
      return { queue: str(input.QueueUrl) };
    default:
      return { unsupported: service };
  }
}

/** The IAM calls one SDK command needs (a copy also reads its source). */
export function iamCalls(component: string, service: string, command: string, input: Input): RecordedCall[] {
  const name = command.replace(/Command$/, '');
  const action = `${service}:${ACTIONS[name] ?? name}`;
  const calls: RecordedCall[] = [{ component, service, action, resource: resourceOf(service, input), command: name }];
  if (service === 's3' && typeof input.CopySource === 'string') {
    calls.push({ component, service, action: 's3:GetObject', resource: copySource(input.CopySource), command: name });
  }
  return calls;
}

/** A JSON-lines file (appended to) or a function. */
export type CallSink = string | ((call: RecordedCall) => void);

interface RecordableClient {
  config: { serviceId?: string };
  middlewareStack: { add(mw: unknown, options: { step: 'initialize'; name: string; override?: boolean }): void };
}

/**
 * Adds a middleware to `client` that records each command it sends (or presigns) as IAM calls of `component`.
 * A DynamoDBDocumentClient shares its client's stack, so recording either records both.
 */
export function recordCalls<C extends object>(client: C, component: string, sink: CallSink): C {
  const c = client as unknown as RecordableClient;
  const service = SERVICES[c.config.serviceId ?? ''] ?? (c.config.serviceId ?? 'unknown').toLowerCase();
  const write = typeof sink === 'string' ? (call: RecordedCall) => appendFileSync(sink, JSON.stringify(call) + '\n') : sink;
  c.middlewareStack.add(
    (next: (args: { input: Input }) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: Input }) => {
      for (const call of iamCalls(component, service, context.commandName ?? 'Unknown', args.input)) write(call);
      return next(args);
    },
    { step: 'initialize', name: 'mediaIngestRecordCalls', override: true },
  );
  return client;
}

/** Reads a JSON-lines call log back. */
export function parseCallLog(text: string): RecordedCall[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as RecordedCall);
}
