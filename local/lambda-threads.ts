import { build } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { NODE_BUNDLE } from '../cdk/bundling.js';
import type { Component } from '../core/config.js';
import { buildOnce, CACHE, type Deployment, type FunctionLimits, ROOT, sourceDigest } from './deployment.js';
import type { Answer } from './lambda-host.js';
import { TaskFailure } from './task-tokens.js';

/** What decides a function's bundle: the Lambdas' sources, what they import, the thread's side of an invocation. */
const SOURCES = ['lambdas', 'core', join('local', 'lambda-host.ts'), join('cdk', 'bundling.ts'), 'package-lock.json'];

/**
 * Bundles a handler module (its `handler` export, the AWS entry) with the thread's side of an invocation, as CDK
 * bundles it for Lambda: plain JavaScript, so the thread needs no TypeScript loader under the CLI or the tests.
 */
export async function bundleFunction(entry: string, outfile: string): Promise<void> {
  await build({
    stdin: {
      contents: `import { handler } from ${JSON.stringify(entry)}; import { serve } from ${JSON.stringify(join(ROOT, 'local', 'lambda-host.ts'))}; serve(handler);`,
      resolveDir: ROOT,
      loader: 'ts',
    },
    ...NODE_BUNDLE,
    outfile,
  });
}

let bundles: Promise<string> | undefined;

/** The workflow's functions bundled once per sources, kept beside the synthesised deployments; their folder. */
function workflowBundles(): Promise<string> {
  bundles ??= (async () => {
    const dir = join(CACHE, `lambdas-${sourceDigest(SOURCES).slice(0, 24)}`);
    await buildOnce(dir, (into) =>
      Promise.all(WORKFLOW_FUNCTIONS.map((c) => bundleFunction(join(ROOT, 'lambdas', c, 'handler.ts'), join(into, `${c}.mjs`)))).then(() => undefined),
    );
    return dir;
  })();
  return bundles;
}

/** The functions the workflow invokes: its Task states' and reconcile (what the EventBridge rule invokes). */
const WORKFLOW_FUNCTIONS = ['classify', 'publish', 'notify', 'reconcile'] as const satisfies readonly Component[];

/**
 * The workflow's functions, each in its own threads on the environment and limits the template gives it, each
 * logging to `<logDir>/<function>.log` as each logs to its own log group on AWS.
 */
export async function workflowFunctions(
  env: (component: Component) => Record<string, string>,
  limits: Deployment['limits'],
  logDir: string,
): Promise<Record<(typeof WORKFLOW_FUNCTIONS)[number], LambdaThreads>> {
  const dir = await workflowBundles();
  await mkdir(logDir, { recursive: true });
  const of = (c: (typeof WORKFLOW_FUNCTIONS)[number]) => new LambdaThreads(join(dir, `${c}.mjs`), env(c), limits[c]!, join(logDir, `${c}.log`));
  return { classify: of('classify'), publish: of('publish'), notify: of('notify'), reconcile: of('reconcile') };
}

/** A function's invocation that ended outside its handler, as Lambda reports it (its cause the payload Lambda returns). */
function runtimeFailure(error: string, requestId: string, message: string): TaskFailure {
  return new TaskFailure(error, JSON.stringify({ errorType: error, errorMessage: `RequestId: ${requestId} Error: ${message}` }));
}

/**
 * One Lambda here: its bundle in worker threads on the template's environment, each thread an execution environment
 * (one invocation at a time, kept warm for the next), its JS heap capped at the function's MemorySize and each
 * invocation ended at its Timeout. Running out of memory or time ends the thread, never this process, and fails the
 * invocation with the error Step Functions reports for it (`Runtime.OutOfMemory`, `Sandbox.Timedout`: its Catch's
 * `States.ALL` and `States.TaskFailed` match them, a Retry on `Lambda.ServiceException` does not).
 */
export class LambdaThreads {
  private readonly idle: Worker[] = [];
  private readonly busy = new Set<Worker>();
  private retired = false;
  private log: WriteStream | undefined;

  constructor(
    private readonly bundle: string,
    private readonly env: Record<string, string>,
    private readonly limits: FunctionLimits,
    private readonly logFile: string,
  ) {}

  readonly invoke = (event: unknown): Promise<unknown> => {
    const thread = this.idle.pop() ?? this.spawn();
    this.busy.add(thread);
    const requestId = randomUUID();
    return new Promise<unknown>((resolve, reject) => {
      const settle = (answer: Answer | TaskFailure) => {
        clearTimeout(timer);
        thread.off('message', settle).off('error', crashed).off('exit', exited);
        this.busy.delete(thread);
        if (answer instanceof TaskFailure) {
          void thread.terminate();
          this.closeLogWhenDone();
          return reject(answer);
        }
        this.release(thread);
        if ('response' in answer) resolve(JSON.parse(answer.response));
        else reject(new TaskFailure(answer.error, answer.cause));
      };
      const crashed = (err: Error & { code?: string }) =>
        settle(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? runtimeFailure('Runtime.OutOfMemory', requestId, 'Runtime exited with error: signal: killed')
            : runtimeFailure('Runtime.ExitError', requestId, `Runtime exited with error: ${err.name}: ${err.message}`),
        );
      const exited = (code: number) => settle(runtimeFailure('Runtime.ExitError', requestId, `Runtime exited with error: exit status ${code}`));
      const seconds = this.limits.timeoutSeconds;
      const timer = setTimeout(() => settle(runtimeFailure('Sandbox.Timedout', requestId, `Task timed out after ${seconds.toFixed(2)} seconds`)), seconds * 1000);
      thread.on('message', settle).on('error', crashed).on('exit', exited);
      thread.postMessage(event);
    });
  };

  /** Ends idle threads now and busy ones when their invocation ends (a redeploy: later invocations get new ones). */
  async retire(): Promise<void> {
    this.retired = true;
    await Promise.all(this.idle.splice(0).map((thread) => thread.terminate()));
    this.closeLogWhenDone();
  }

  /** Ends every thread now (a running invocation fails with `Runtime.ExitError`). */
  async stop(): Promise<void> {
    const busy = [...this.busy];
    this.busy.clear();
    await Promise.all([this.retire(), ...busy.map((thread) => thread.terminate())]);
  }

  private spawn(): Worker {
    // No execArgv: the bundle is plain JavaScript, and the CLI's TypeScript loader has no business in the thread.
    const thread = new Worker(this.bundle, {
      env: this.env,
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.limits.memoryMb },
      stdout: true,
      stderr: true,
    });
    // Every warm thread writes into the one log. A thread ended by a stop may still flush output once the log has
    // closed: that is dropped, never written after the log's end (an error nobody handles).
    const log = (this.log ??= createWriteStream(this.logFile, { flags: 'a' }));
    const write = (chunk: Buffer) => void (log.writableEnded || log.write(chunk));
    thread.stdout.on('data', write);
    thread.stderr.on('data', write);
    return thread;
  }

  private release(thread: Worker): void {
    if (this.retired) void thread.terminate();
    else this.idle.push(thread);
    this.closeLogWhenDone();
  }

  /** A retired function's log is closed once no invocation can write to it. */
  private closeLogWhenDone(): void {
    if (!this.retired || this.busy.size) return;
    this.log?.end();
    this.log = undefined;
  }
}
