import { parentPort } from 'node:worker_threads';
import { lambdaError } from '../core/errors.js';

/** What a function's thread answers an invocation with: its response as JSON, or its error as Lambda reports it. */
export type Answer = { response: string } | { error: string; cause: string };

/**
 * The thread's side of a local Lambda (bundled with each function's handler): takes one event at a time, as an
 * execution environment does, and answers with the handler's response or error.
 */
export function serve(handler: (event: unknown) => Promise<unknown>): void {
  const port = parentPort!;
  port.on('message', (event: unknown) => {
    handler(event).then(
      (response) => port.postMessage({ response: JSON.stringify(response ?? null) } satisfies Answer),
      (err: unknown) => port.postMessage(lambdaError(err) satisfies Answer),
    );
  });
}
