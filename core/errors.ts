import { redactDeep, redactText } from './redact.js';

/** Stable error names: the ASL's Retry/Catch match on them and a job's `error.code` is one of them. */
export const ERROR_CODES = [
  'InvalidRequest',
  'UnsafeUrl',
  'UnsupportedSource',
  'SourceNotFound',
  'SourceForbidden',
  'SourceUnavailable',
  'NotMedia',
  'TooLarge',
  'StepTimeout',
  'ExtractionFailed',
  'MergeFailed',
  'TranscriptionFailed',
  'PublishFailed',
  'JobNotFound',
  'Conflict',
  // The API's own answers to requests it refuses.
  'PayloadTooLarge',
  'RequestTimeout',
  'QuotaExceeded',
  'UploadNotFound',
  'RouteNotFound',
  // An API answer to a failure it did not expect; the details stay in its log.
  'InternalError',
  // Recorded by reconcile when an execution ends outside the ASL's own failure path.
  'ExecutionFailed',
  'ExecutionTimedOut',
  'ExecutionAborted',
  // Written on a record only: a cancel through the API, an execution that never started, one the sweep found ended.
  'Cancelled',
  'ExecutionNotStarted',
  'ExecutionEnded',
  // A step whose worker died on every delivery of its message (the message goes to the dead-letter queue).
  'WorkerLost',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * A code a job record may carry: one of ours, or a name Step Functions itself gives a failed state, recorded as it is
 * (`States.Timeout` past a step's TimeoutSeconds, `States.TaskFailed`, …, or an integrated service's own error).
 */
export function isStableCode(code: string): boolean {
  return (ERROR_CODES as readonly string[]).includes(code) || /^(States|Lambda|DynamoDB|SQS|Runtime|Sandbox)\.[A-Za-z]+$/.test(code);
}

export interface ErrorDetails {
  /** Last lines of a tool's stderr, kept for the job record. */
  readonly stderrTail?: string[];
  readonly [key: string]: unknown;
}

/** Base of every error that crosses a state boundary; `name` is the stable code (Lambda reports it as errorType). */
export class MediaIngestError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    // Messages and stderr tails are stored and logged: a source URL quoted in them loses its secrets here.
    super(redactText(message), { cause: options.cause });
    this.code = code;
    this.name = code;
    this.details = redactDeep(options.details ?? {});
  }
}

type Options = ConstructorParameters<typeof MediaIngestError>[2];

export class InvalidRequestError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('InvalidRequest', message, options); }
}
export class UnsafeUrlError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('UnsafeUrl', message, options); }
}
export class UnsupportedSourceError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('UnsupportedSource', message, options); }
}
export class SourceNotFoundError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('SourceNotFound', message, options); }
}
export class SourceForbiddenError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('SourceForbidden', message, options); }
}
export class SourceUnavailableError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('SourceUnavailable', message, options); }
}
export class CancelledError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('Cancelled', message, options); }
}
export class NotMediaError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('NotMedia', message, options); }
}
export class TooLargeError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('TooLarge', message, options); }
}
export class StepTimeoutError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('StepTimeout', message, options); }
}
export class ExtractionFailedError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('ExtractionFailed', message, options); }
}
export class MergeFailedError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('MergeFailed', message, options); }
}
export class TranscriptionFailedError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('TranscriptionFailed', message, options); }
}
export class PublishFailedError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('PublishFailed', message, options); }
}
export class WorkerLostError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('WorkerLost', message, options); }
}
export class JobNotFoundError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('JobNotFound', message, options); }
}
export class ConflictError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('Conflict', message, options); }
}
export class PayloadTooLargeError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('PayloadTooLarge', message, options); }
}
export class RequestTimeoutError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('RequestTimeout', message, options); }
}
export class QuotaExceededError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('QuotaExceeded', message, options); }
}
export class UploadNotFoundError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('UploadNotFound', message, options); }
}
export class RouteNotFoundError extends MediaIngestError {
  constructor(message: string, options?: Options) { super('RouteNotFound', message, options); }
}


/** What an unexpected error in a step is recorded as, so every failure a job records has a stable code. */
const STEP_FAILURES = {
  classify: 'UnsupportedSource',
  extract: 'ExtractionFailed',
  merge: 'MergeFailed',
  transcribe: 'TranscriptionFailed',
  publish: 'PublishFailed',
} as const satisfies Record<string, ErrorCode>;

/** A step's error with a stable code: its own when it has one, else the step's failure, naming what was thrown. */
export function asStepFailure(err: unknown, step: keyof typeof STEP_FAILURES): MediaIngestError {
  if (err instanceof MediaIngestError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  // A tool's failure carries its stderr tail: kept for the record.
  const tail = (err as { stderrTail?: unknown } | undefined)?.stderrTail;
  return new MediaIngestError(STEP_FAILURES[step], `${e.name}: ${e.message}`, { cause: err, details: Array.isArray(tail) ? { stderrTail: tail.map(String) } : {} });
}

/** The cause string a failed step reports: the same JSON shape Lambda gives Step Functions. */
export function errorCause(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const details = err instanceof MediaIngestError ? err.details : {};
  return JSON.stringify(redactDeep({ errorType: e.name, errorMessage: e.message, ...details }));
}

/** A function's thrown error as Step Functions reports it: the error's name, and its cause. */
export function lambdaError(err: unknown): { error: string; cause: string } {
  return { error: err instanceof Error ? err.name : 'Error', cause: errorCause(err) };
}

/** Reads a Step Functions `Cause` back into a message and stderr tail, whichever runtime produced it. */
export function parseCause(cause: string | undefined): { message: string; stderrTail?: string[] } {
  if (!cause) return { message: '' };
  return redactDeep(parseRawCause(cause));
}

function parseRawCause(cause: string): { message: string; stderrTail?: string[] } {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown; stderrTail?: unknown };
    if (typeof parsed.errorMessage === 'string') {
      const tail = Array.isArray(parsed.stderrTail) ? parsed.stderrTail.map(String).slice(-10) : undefined;
      return tail ? { message: parsed.errorMessage, stderrTail: tail } : { message: parsed.errorMessage };
    }
  } catch {
    // not JSON: a plain message (for example States.Timeout)
  }
  return { message: cause };
}
