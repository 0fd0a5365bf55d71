import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Deps } from '../../core/component.js';
import { WorkerLostError, errorCause } from '../../core/errors.js';
import { parseInput } from '../../core/input.js';
import { logger, STEP_LOG } from '../../core/logger.js';
import { stagingPrefix } from '../../core/storage.js';
import { StagingFence } from './fence.js';
import { scaleInProtection } from './protection.js';
import { type Report, runStep, type StepMessage, StepMessageSchema } from './step.js';

/**
 * A long poll a stopping worker can wait out (ECS gives it 30 s, the local pool 10): a poll cut short may already hold
 * a message, lost to the queue until its visibility timeout. An idle slot costs one request every 5 s.
 */
const WAIT_SECONDS = 5;
/**
 * A heartbeat is how a running step learns its job was cancelled (its token is gone), and a cancel must stop the
 * step within 5 s: one SendTaskHeartbeat every 3 s per running step (1,200 an hour; Step Functions bills transitions,
 * not these calls, but they count against its SendTaskHeartbeat rate quota).
 */
const BEAT_MS = 3_000;

/** The token is no longer waited for: the execution was stopped (a cancel) or gave up on the task. */
const isGone = (err: unknown) => ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes((err as Error).name);

/** A step's start or end, on stdout whatever the log level: the local pool counts its busy workers by these lines. */
function mark(event: string, { jobId, step }: StepMessage): void {
  process.stdout.write(`${JSON.stringify({ level: 'INFO', message: event, timestamp: new Date().toISOString(), jobId, step })}\n`);
}

/**
 * The queue loop of one worker: `MEDIA_INGEST_WORKER_CONCURRENCY` slots, each long-polling for one step at a time.
 * A received message is a claim for its visibility timeout, which the worker renews next to SendTaskHeartbeat while
 * the step runs; it is deleted once the worker has reported. `onGone` ends the worker when a running step's token is
 * no longer valid (its job was cancelled or timed out): the step is dropped with its tools and scratch.
 */
export class Consumer {
  private stopping = false;
  /** Messages being worked on, by receipt handle: a stop makes them visible again. */
  private readonly held = new Set<string>();
  private readonly protection;
  private readonly queueUrl: string;
  private readonly visibility: number;
  private readonly fence: StagingFence;

  constructor(
    private readonly deps: Deps,
    /** `undo` fences off the dropped step's staging and removes what it wrote: to run once its downloads are cut. */
    private readonly onGone: (why: string, undo: () => Promise<void>) => void,
  ) {
    this.protection = scaleInProtection(deps.config.ECS_AGENT_URI);
    this.queueUrl = deps.config.WORK_QUEUE_URL;
    this.visibility = deps.config.MEDIA_INGEST_VISIBILITY_TIMEOUT_SECONDS;
    this.fence = new StagingFence(deps.clients.s3, deps.config.STAGING_BUCKET);
  }

  /** Long polls in flight: a stop lets them end (one cut short may already hold a message, lost until its timeout). */
  private readonly polls = new Set<Promise<Message[]>>();

  /** Runs every slot until `stop`. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.deps.config.MEDIA_INGEST_WORKER_CONCURRENCY }, () => this.slot()));
  }

  /** Gives every held message back (visible again at once, for another worker), as a stopping task must. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.held].map((handle) => this.setVisibility(handle, 0).catch(() => undefined)));
    await Promise.all(this.polls);
  }

  private async slot(): Promise<void> {
    while (!this.stopping) {
      const poll = this.poll();
      this.polls.add(poll);
      const messages = await poll.finally(() => this.polls.delete(poll));
      // A failure here leaves the message to come back after its visibility timeout.
      for (const message of messages) await this.handle(message).catch((err: Error) => logger.error('message not handled', { error: err }));
    }
  }

  /** One long poll; what it brings in as the worker stops goes straight back to the queue, neither run nor counted lost. */
  private async poll(): Promise<Message[]> {
    try {
      const out = await this.deps.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: WAIT_SECONDS, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
      );
      const messages = out.Messages ?? [];
      if (!this.stopping) return messages;
      await Promise.all(messages.map((m) => this.setVisibility(m.ReceiptHandle!, 0).catch(() => undefined)));
    } catch (err) {
      logger.warn('receive failed', { error: (err as Error).message });
      await new Promise((r) => setTimeout(r, 1000));
    }
    return [];
  }

  private setVisibility(handle: string, seconds: number) {
    return this.deps.clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: handle, VisibilityTimeout: seconds }));
  }

  private remove(handle: string) {
    return this.deps.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: handle }));
  }

  private async handle(received: Message): Promise<void> {
    const handle = received.ReceiptHandle!;
    let message: StepMessage;
    try {
      message = parseInput(StepMessageSchema, JSON.parse(received.Body ?? ''), 'step message');
    } catch (err) {
      // Nobody can be told: only the state machine sends here, so this is not ours to run.
      logger.error('unreadable message dropped', { error: (err as Error).message });
      await this.remove(handle);
      return;
    }
    const { sfn } = this.deps.clients;
    const { taskToken, jobId, step } = message;
    try {
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken }));
    } catch (err) {
      if (!isGone(err)) throw err;
      // Cancelled or timed out while queued: nothing will read a result.
      logger.info('stale step dropped', { jobId, step, reason: (err as Error).name });
      await this.remove(handle);
      return;
    }
    const deliveries = Number(received.Attributes?.ApproximateReceiveCount ?? 1);
    const limit = this.deps.config.MEDIA_INGEST_MAX_RECEIVE_COUNT;
    if (deliveries >= limit) {
      // Every earlier holder died without reporting: fail the task, and let the message go on to the dead-letter queue.
      const lost = new WorkerLostError(`the ${step} step's worker died ${deliveries - 1} times without reporting; its message goes to the dead-letter queue`);
      logger.error('step lost', { jobId, step, deliveries });
      await sfn.send(new SendTaskFailureCommand({ taskToken, error: lost.name, cause: errorCause(lost) })).catch(() => undefined);
      await this.setVisibility(handle, 0);
      return;
    }
    await this.work(handle, message);
  }

  private async work(handle: string, message: StepMessage): Promise<void> {
    const { sfn } = this.deps.clients;
    const { taskToken, jobId, step } = message;
    this.held.add(handle);
    const prefix = stagingPrefix(message.tenant, jobId);
    this.fence.open(prefix);
    await this.protection.acquire();
    const beat = setInterval(() => {
      this.setVisibility(handle, this.visibility).catch((err: Error) => logger.warn('claim renewal failed', { jobId, step, error: err.message }));
      sfn.send(new SendTaskHeartbeatCommand({ taskToken })).catch((err: Error) => {
        if (isGone(err)) this.remove(handle).finally(() => this.onGone(`${jobId} ${step}: ${err.name}`, () => this.fence.close(prefix)));
        else logger.warn('heartbeat failed', { jobId, step, error: err.message });
      });
    }, Math.min(BEAT_MS, (this.visibility * 1000) / 3));
    let report: Report;
    mark(STEP_LOG.started, message);
    try {
      report = await runStep(this.deps, message);
    } finally {
      clearInterval(beat);
      this.fence.done(prefix);
      mark(STEP_LOG.ended, message);
    }
    if (this.stopping) {
      // Stopped mid-step: the message is back on the queue for another worker; this run (its tools killed) reports nothing.
      this.held.delete(handle);
      return this.protection.release();
    }
    try {
      if ('output' in report) await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(report.output) }));
      else await sfn.send(new SendTaskFailureCommand({ taskToken, ...report }));
      await this.remove(handle);
    } catch (err) {
      // A report nobody waits for is dropped; any other failure leaves the message to come back and run again.
      if (isGone(err)) await this.remove(handle);
      else logger.error('report failed', { jobId, step, error: err as Error });
    } finally {
      this.held.delete(handle);
      await this.protection.release();
    }
  }
}
