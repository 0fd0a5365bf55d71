import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConflictError, type ErrorCode, InvalidRequestError, parseCause } from './errors.js';
import type { Checkpoint, JobOptions, JobRecord, JobRequest, JobStatus, PublishCheckpoint, Step } from './job.js';

/**
 * Job records. The state machine writes `checkpoints.<step>` as JSON strings (ASL cannot build DynamoDB maps from
 * arbitrary JSON), and `error` as {code, cause}; `fromItem` reads them back and derives what is not stored.
 */
/** The jobs table of a component: its name and the component's client. */
export interface JobsTable {
  readonly db: DynamoDBDocumentClient;
  readonly name: string;
}

export interface NewJob {
  tenant: string;
  jobId: string;
  request: JobRequest;
  options: JobOptions;
  ttlDays: number;
  now?: Date;
}

export async function createQueued(jobs: JobsTable, job: NewJob): Promise<JobRecord> {
  const now = job.now ?? new Date();
  const item = {
    tenant: job.tenant,
    jobId: job.jobId,
    status: 'QUEUED' as JobStatus,
    stage: 'queued',
    request: job.request,
    options: job.options,
    progress: {},
    checkpoints: {},
    attempts: 0,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: expiresAt(now, job.ttlDays),
  };
  try {
    await jobs.db.send(
      new PutCommand({ TableName: jobs.name, Item: item, ConditionExpression: 'attribute_not_exists(jobId)' }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) {
      throw new ConflictError(`job ${job.jobId} already exists`, { cause: err });
    }
    throw err;
  }
  return fromItem(item);
}

export async function getJob(jobs: JobsTable, tenant: string, jobId: string): Promise<JobRecord | undefined> {
  const out = await jobs.db.send(new GetCommand({ TableName: jobs.name, Key: { tenant, jobId }, ConsistentRead: true }));
  return out.Item ? fromItem(out.Item) : undefined;
}

export async function setExecution(jobs: JobsTable, tenant: string, jobId: string, executionArn: string): Promise<void> {
  await update(jobs, tenant, jobId, {
    UpdateExpression: 'SET executionArn = :arn, updatedAt = :now',
    ExpressionAttributeValues: { ':arn': executionArn, ':now': new Date().toISOString() },
  });
}

export async function recordFailureBeforeStart(jobs: JobsTable, tenant: string, jobId: string, code: ErrorCode, message: string): Promise<void> {
  await update(jobs, tenant, jobId, {
    UpdateExpression: 'SET #s = :failed, #e = :error, updatedAt = :now',
    ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
    ExpressionAttributeValues: {
      ':failed': 'FAILED',
      ':error': { code, cause: message },
      ':now': new Date().toISOString(),
    },
  });
}

type Update = Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>;

/** One update of a job's item. */
async function update(jobs: JobsTable, tenant: string, jobId: string, changes: Update): Promise<void> {
  await jobs.db.send(new UpdateCommand({ TableName: jobs.name, Key: { tenant, jobId }, ...changes }));
}

/** An update that applies only when its condition holds; false when it does not (the job moved on, or is absent). */
async function updateIf(jobs: JobsTable, tenant: string, jobId: string, changes: Update): Promise<boolean> {
  try {
    await update(jobs, tenant, jobId, changes);
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** QUEUED or RUNNING → an end state with its error; false when the job has already ended (or has no record). */
function endOpenJob(jobs: JobsTable, tenant: string, jobId: string, status: JobStatus, error: { code: ErrorCode; cause: string }): Promise<boolean> {
  return updateIf(jobs, tenant, jobId, {
    UpdateExpression: 'SET #s = :end, #e = :error, updatedAt = :now',
    ConditionExpression: '#s IN (:queued, :running)',
    ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
    ExpressionAttributeValues: { ':end': status, ':error': error, ':queued': 'QUEUED', ':running': 'RUNNING', ':now': new Date().toISOString() },
  });
}

/**
 * QUEUED or RUNNING → FAILED with `code`, for an execution that ended without recording its job (reconcile).
 * False when the job is already final (or has no record): a recorded end, a cancellation, is never overwritten.
 */
export function recordExecutionEnded(jobs: JobsTable, tenant: string, jobId: string, code: ErrorCode, message: string): Promise<boolean> {
  return endOpenJob(jobs, tenant, jobId, 'FAILED', { code, cause: message });
}

/** When an item written now expires (the table's TTL attribute), in epoch seconds. */
export function expiresAt(now: Date, ttlDays: number): number {
  return Math.floor(now.getTime() / 1000) + ttlDays * 86_400;
}

/** Audit items live in the jobs table under a partition no tenant can have ('#' is not allowed in tenants). */
export const AUDIT_PARTITION = '#audit';

/** One audit item: what the cleanup sweep did and why, kept as long as job records are. */
export async function recordAudit(jobs: JobsTable, now: Date, entry: Record<string, unknown>, ttlDays: number): Promise<void> {
  await jobs.db.send(
    new PutCommand({
      TableName: jobs.name,
      Item: {
        tenant: AUDIT_PARTITION,
        jobId: `${now.toISOString()}#${String(entry.prefix ?? entry.jobId)}`,
        ...entry,
        at: now.toISOString(),
        expiresAt: expiresAt(now, ttlDays),
      },
    }),
  );
}

/** Every job whose record says RUNNING, with its execution (the sweep checks each against Step Functions). */
export async function* runningJobs(jobs: JobsTable): AsyncGenerator<{ tenant: string; jobId: string; executionArn?: string }> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await jobs.db.send(
      new ScanCommand({
        TableName: jobs.name,
        FilterExpression: '#s = :running',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':running': 'RUNNING' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) yield { tenant: item.tenant as string, jobId: item.jobId as string, executionArn: item.executionArn as string | undefined };
    start = page.LastEvaluatedKey;
  } while (start);
}

/** The GSI that lists a tenant's jobs by creation time (cdk/constructs/jobs-table.ts creates it). */
export const JOBS_BY_TIME_INDEX = 'byCreatedAt';

/** A page token: the index's last key (the table's key and the index's), for the tenant it was issued to. */
// Bounded so a forged key never reaches DynamoDB's own key checks (empty or over 1,024 bytes): 256 characters fit.
const keyPart = z.string().min(1).max(256);
const PageKeySchema = z.strictObject({ tenant: keyPart, jobId: keyPart, createdAt: keyPart });

/** The start key a `next` token stands for; anything this API did not give out (or gave another tenant) is refused. */
function startKey(tenant: string, next: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(next, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const key = PageKeySchema.safeParse(parsed);
  if (!key.success || key.data.tenant !== tenant) throw new InvalidRequestError('next: not a token this API gave out');
  return key.data;
}

/** A tenant's jobs, newest first; `next` is an opaque token for the following page. */
export async function listJobs(jobs: JobsTable, tenant: string, limit: number, next?: string): Promise<{ jobs: JobRecord[]; next?: string }> {
  const start = next ? startKey(tenant, next) : undefined;
  const out = await jobs.db.send(
    new QueryCommand({
      TableName: jobs.name,
      IndexName: JOBS_BY_TIME_INDEX,
      KeyConditionExpression: 'tenant = :t',
      ExpressionAttributeValues: { ':t': tenant },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  const page: { jobs: JobRecord[]; next?: string } = { jobs: (out.Items ?? []).map(fromItem) };
  if (out.LastEvaluatedKey) page.next = Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url');
  return page;
}

/** QUEUED or RUNNING → CANCELLED; anything else has already ended (Conflict). */
export async function markCancelled(jobs: JobsTable, tenant: string, jobId: string): Promise<void> {
  const cancelled = await endOpenJob(jobs, tenant, jobId, 'CANCELLED', { code: 'Cancelled', cause: 'cancelled by the caller (DELETE /jobs/{id})' });
  if (!cancelled) throw new ConflictError(`job ${jobId} has already ended`);
}

export interface Progress {
  step: Step;
  bytes: number;
  totalBytes?: number;
  /** Average bytes per second since the step's first byte. */
  bytesPerSecond?: number;
}

/** Progress from a running step; only while the job is RUNNING, so a late update cannot undo an end state. */
export async function updateProgress(jobs: JobsTable, tenant: string, jobId: string, progress: Progress): Promise<void> {
  await updateIf(jobs, tenant, jobId, {
    UpdateExpression: 'SET progress = :p, updatedAt = :now',
    ConditionExpression: '#s = :running',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':p': progress, ':now': new Date().toISOString(), ':running': 'RUNNING' },
  });
}

export interface CallbackOutcome {
  delivered: boolean;
  status?: number;
  error?: string;
  attempts: number;
}

export async function recordCallback(jobs: JobsTable, tenant: string, jobId: string, outcome: CallbackOutcome): Promise<void> {
  await update(jobs, tenant, jobId, {
    UpdateExpression: 'SET #c = :c',
    ExpressionAttributeNames: { '#c': 'callback' },
    ExpressionAttributeValues: { ':c': outcome },
  });
}

function parseJson<T>(value: unknown, fallback: T): T {
  if (typeof value !== 'string') return (value as T) ?? fallback;
  try {
    return JSON.parse(value) as T;
  } catch {
    return fallback;
  }
}

/** The percent done, computed from what is stored: bytes of the total, to one decimal, never over 100. */
function withPercent(progress: Partial<Progress>): JobRecord['progress'] {
  const { bytes, totalBytes } = progress;
  return bytes !== undefined && totalBytes ? { ...progress, percent: Math.min(100, Math.round((bytes / totalBytes) * 1000) / 10) } : progress;
}

/** A stored item as callers see it. */
export function fromItem(item: Record<string, unknown>): JobRecord {
  const checkpoints: Partial<Record<Step, Checkpoint>> = {};
  for (const [step, value] of Object.entries((item.checkpoints as Record<string, unknown>) ?? {})) {
    checkpoints[step as Step] = parseJson<Checkpoint>(value, { durationMs: 0, bytes: 0 });
  }
  const storedError = item.error as { code?: string; cause?: string } | undefined;
  const record: JobRecord = {
    tenant: item.tenant as string,
    jobId: item.jobId as string,
    status: item.status as JobStatus,
    stage: item.stage as string,
    request: item.request as JobRequest,
    options: item.options as JobOptions,
    progress: withPercent((item.progress as Progress | undefined) ?? {}),
    checkpoints,
    // The published list lives once, in the publish checkpoint.
    artifacts: (checkpoints.publish as PublishCheckpoint | undefined)?.artifacts ?? [],
    error: storedError?.code ? { code: storedError.code, ...parseCause(storedError.cause) } : null,
    attempts: Number(item.attempts ?? 0),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    expiresAt: Number(item.expiresAt),
  };
  if (item.executionArn) record.executionArn = item.executionArn as string;
  if (item.callback) record.callback = item.callback as CallbackOutcome;
  return record;
}
