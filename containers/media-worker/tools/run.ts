import { execa, type ResultPromise } from 'execa';
import type { ErrorDetails, MediaIngestError } from '../../../core/errors.js';
import { redactText } from '../../../core/redact.js';
import { killTree } from './tree.js';

const STDERR_TAIL_LINES = 10;

export class ToolError extends Error {
  override name = 'ToolError';
  constructor(
    message: string,
    readonly stderrTail: string[],
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

/** A stable step error (ExtractionFailed, MergeFailed, TranscriptionFailed, …) built from a tool's failure. */
type StepErrorClass<E extends MediaIngestError> = new (message: string, options?: { cause?: unknown; details?: ErrorDetails }) => E;

/** A tool's failure as a step's stable error, the tool's stderr tail kept for the job record. */
export function toolFailure<E extends MediaIngestError>(Kind: StepErrorClass<E>, message: string, err: ToolError): E {
  return new Kind(message, { details: { stderrTail: err.stderrTail } });
}

/** Runs `run`; a tool's failure there becomes `Kind` (see toolFailure), any other error passes through. */
export async function asStepError<T, E extends MediaIngestError>(Kind: StepErrorClass<E>, message: (err: ToolError) => string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ToolError) throw toolFailure(Kind, message(err), err);
    throw err;
  }
}

export interface RunOptions {
  /** Kill the whole process tree after this long. */
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  /** Called with each line of stdout as it comes (progress). */
  readonly onLine?: (line: string) => void;
  /** Kills the tree when aborted; the run then fails with the signal's reason. */
  readonly signal?: AbortSignal;
}

const running = new Set<ResultPromise>();

function kill(child: ResultPromise): void {
  if (child.pid !== undefined) killTree(child.pid);
}

/** Kills every tool still running, each as a tree: called whenever the worker ends or is told to stop. */
export function killAllTools(): void {
  for (const child of running) kill(child);
}

/** The last lines of stderr, kept for the record: tools print the URLs they open, so they are redacted. */
function tail(text: string): string[] {
  return text.split(/\r?\n|\r/).map((l) => redactText(l.trimEnd())).filter(Boolean).slice(-STDERR_TAIL_LINES);
}

/** Runs a media tool with a timeout and a kill of its whole tree; a failure keeps the last lines of stderr. */
export async function runTool(file: string, args: readonly string[], options: RunOptions): Promise<{ stdout: string; stderr: string }> {
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    // In the worker's process group (not detached): a task stopped or killed as a group takes its tools with it.
    reject: false,
    stdin: 'ignore',
    maxBuffer: 64 * 1024 * 1024,
  });
  running.add(child);
  if (options.onLine) {
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split(/\r?\n/);
      pending = lines.pop() ?? '';
      lines.forEach((line) => options.onLine!(line));
    });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(child);
  }, options.timeoutMs);
  const abort = () => kill(child);
  options.signal?.addEventListener('abort', abort);
  try {
    const result = await child;
    if (options.signal?.aborted) throw options.signal.reason;
    const stdout = String(result.stdout ?? '');
    const stderr = String(result.stderr ?? '');
    if (timedOut) {
      throw new ToolError(`${file} did not finish within ${options.timeoutMs} ms and was killed`, tail(stderr), true);
    }
    if (result.failed) {
      const why = result.exitCode !== undefined ? `exited with code ${result.exitCode}` : `ended by ${result.signal ?? 'an error'}`;
      throw new ToolError(`${file} ${why}`, tail(stderr || (result.originalMessage ?? '')), false);
    }
    return { stdout, stderr };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', abort);
    running.delete(child);
  }
}
