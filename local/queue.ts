import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type BuildAppOptions, buildApp } from 'fauxqs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LOCAL_QUEUES, LOCAL_REGION } from './substitutions.js';

/** The work queue's attributes as the synthesised template gives them (cdk/constructs/workers.ts). */
export interface QueueShape {
  visibilityTimeout: number;
  maxReceiveCount: number;
  maximumMessageSize?: number;
}

export interface QueueStandIn {
  endpoint: string;
  workQueueUrl: string;
  deadLettersUrl: string;
  /** Gives the work queue the template's attributes (a redeploy changes them). */
  configure(shape: QueueShape): Promise<void>;
  /** Messages in each queue, visible or not (tests, and a drained pool). */
  depth(): Promise<{ work: number; deadLetters: number }>;
  /**
   * Ends the long polls waiting on the work queue now, as if a message had come: each takes what is there (most
   * often nothing) and answers. The pool calls it while its stopping workers wait out their polls, so a stop or a
   * redeploy takes as long as the workers' own clean-up rather than the rest of a 5 s poll.
   */
  wakeReceivers(): void;
  stop(): Promise<void>;
}

/**
 * An SQS-protocol stand-in (fauxqs, in-process, on loopback): the work queue with the template's visibility timeout,
 * message size and redrive to a dead-letter queue after `maxReceiveCount` receives, and long polling. Its state is in
 * memory: the engine's executions are too, so both start empty.
 */
export async function startQueueStandIn(): Promise<QueueStandIn> {
  const sqsStore = new (await sqsStoreClass())();
  const app = buildApp({ logger: false, stores: { sqsStore } as unknown as BuildAppOptions['stores'] });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const endpoint = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const deadLettersUrl = (await client.send(new CreateQueueCommand({ QueueName: LOCAL_QUEUES.deadLetters, Attributes: { MessageRetentionPeriod: '1209600' } }))).QueueUrl!;
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: deadLettersUrl, AttributeNames: ['QueueArn'] }));
  const attributes = (s: QueueShape): Record<string, string> => ({
    VisibilityTimeout: String(s.visibilityTimeout),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: s.maxReceiveCount }),
    ...(s.maximumMessageSize ? { MaximumMessageSize: String(s.maximumMessageSize) } : {}),
  });
  // Its attributes come from the template, with configure.
  const workQueueUrl = (await client.send(new CreateQueueCommand({ QueueName: LOCAL_QUEUES.work }))).QueueUrl!;
  const count = async (url: string) => {
    const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;
    const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...names] }));
    return names.reduce((sum, name) => sum + Number(out.Attributes?.[name] ?? 0), 0);
  };
  return {
    endpoint,
    workQueueUrl,
    deadLettersUrl,
    async configure(s) {
      await client.send(new SetQueueAttributesCommand({ QueueUrl: workQueueUrl, Attributes: attributes(s) }));
    },
    async depth() {
      return { work: await count(workQueueUrl), deadLetters: await count(deadLettersUrl) };
    },
    wakeReceivers() {
      sqsStore.getQueueByName(LOCAL_QUEUES.work)?.notifyWaiters();
    },
    async stop() {
      client.destroy();
      await app.close();
    },
  };
}

/** What the stand-in uses of fauxqs's SQS store: a queue's waiting receives can be told to look again. */
interface SqsStore {
  getQueueByName(name: string): { notifyWaiters(): void } | undefined;
}

/**
 * fauxqs's SQS store class, which its package does not export (buildApp takes an instance in `stores`; every other
 * store is made as usual): from the package's own folder, found as Node finds the package.
 */
async function sqsStoreClass(): Promise<new () => SqsStore> {
  const paths = createRequire(import.meta.url).resolve.paths('fauxqs') ?? [];
  const file = paths.map((dir) => join(dir, 'fauxqs', 'dist', 'sqs', 'sqsStore.js')).find((f) => existsSync(f));
  if (!file) throw new Error('fauxqs (the SQS stand-in) is not installed');
  return ((await import(pathToFileURL(file).href)) as { SqsStore: new () => SqsStore }).SqsStore;
}
