import { execa, type ResultPromise } from 'execa';

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

export interface RunOptions {
  /** Kill the whole process tree after this long. */
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly env?: Record<string, string>;
}

const running = new Set<ResultPromise>();

function killTree(child: ResultPromise): void {
  // The tool leads its own process group (detached), so one signal reaches everything it started.
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Kills every tool still running: called when the worker itself is told to stop. */
export function killAllTools(): void {
  for (const child of running) killTree(child);
}

function tail(text: string): string[] {
  return text.split(/\r?\n|\r/).map((l) => l.trimEnd()).filter(Boolean).slice(-STDERR_TAIL_LINES);
}

/** Runs a media tool with a timeout and a kill of its whole tree; a failure keeps the last lines of stderr. */
export async function runTool(file: string, args: readonly string[], options: RunOptions): Promise<{ stdout: string; stderr: string }> {
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    reject: false,
    stdin: 'ignore',
    maxBuffer: 64 * 1024 * 1024,
  });
  running.add(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child);
  }, options.timeoutMs);
  try {
    const result = await child;
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
    running.delete(child);
  }
}
