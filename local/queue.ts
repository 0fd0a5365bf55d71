import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import type { AddressInfo } from 'node:net';
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
  stop(): Promise<void>;
}

/**
 * An SQS-protocol stand-in (fauxqs, in-process, on loopback): the work queue with the template's visibility timeout,
 * message size and redrive to a dead-letter queue after `maxReceiveCount` receives, and long polling. Its state is in
 * memory: the engine's executions are too, so both start empty.
 */
export async function startQueueStandIn(): Promise<QueueStandIn> {
  const app = buildApp({ logger: false });
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
    async stop() {
      client.destroy();
      await app.close();
    },
  };
}
