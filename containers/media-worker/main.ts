import { setUp } from '../../core/component.js';
import { dropSourceConnections } from '../../core/http.js';
import { logger } from '../../core/logger.js';
import { Consumer } from './consumer.js';
import { removeActiveScratch } from './step.js';
import { killAllTools } from './tools/run.js';

/** How long a stop waits for the held messages to be given back (and the polls in flight to end) before it exits anyway. */
const GIVE_BACK_MS = 8_000;

// Configuration and clients once, from the task definition's environment (the configuration contract's 'worker').
const deps = setUp('worker', process.env);
let stopping = false;

/**
 * Ends the worker: tools killed as a tree, connections to sources cut (no byte more is read), scratch removed, what
 * `undo` undoes undone, held messages visible again.
 */
function stop(why: string, code: number, undo?: () => Promise<void>): void {
  if (stopping) return;
  stopping = true;
  logger.warn('worker stopping', { why });
  killAllTools();
  dropSourceConnections(deps.config);
  removeActiveScratch();
  const undone = (undo?.() ?? Promise.resolve()).catch((err: Error) => logger.warn('undo failed', { error: err.message }));
  const giveBack = Promise.all([undone, consumer.stop()]);
  const exit = () => process.exit(code);
  setTimeout(exit, GIVE_BACK_MS).unref();
  giveBack.then(exit, exit);
}

// A step whose token is no longer valid (cancelled, timed out) is dropped: the worker ends, its service starts another.
const consumer = new Consumer(deps, (why, undo) => stop(`step dropped: ${why}`, 0, undo));

// ECS stops a task with SIGTERM (scale-in, a deployment): give the claims back and leave nothing behind.
process.once('SIGTERM', () => stop('SIGTERM', 143));
// A terminal's Ctrl-C is the runtime's to handle: the pool stops its workers itself.
process.on('SIGINT', () => undefined);
// However the worker ends (a crash included), no tool outlives it.
process.on('exit', killAllTools);

logger.info('worker ready', { concurrency: deps.config.MEDIA_INGEST_WORKER_CONCURRENCY });
consumer.run().catch((err: unknown) => {
  process.stderr.write(`media-worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
