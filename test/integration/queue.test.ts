import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startQueueStandIn, type QueueStandIn } from '../../local/queue.js';

/** The SQS stand-in speaks the calls the engine and the worker make, with AWS's visibility and redrive rules. */
let queue: QueueStandIn;
let sqs: SQSClient;

beforeAll(async () => {
  queue = await startQueueStandIn();
  await queue.configure({ visibilityTimeout: 1, maxReceiveCount: 2, maximumMessageSize: 262144 });
  sqs = new SQSClient({ endpoint: queue.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});
afterAll(async () => {
  sqs.destroy();
  await queue.stop();
});

const receive = (url: string, wait = 0) =>
  sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: wait, MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['ApproximateReceiveCount'] })).then((r) => r.Messages ?? []);

describe('the SQS stand-in', () => {
  it('long-polls: a receive waits for a message sent meanwhile', async () => {
    const started = Date.now();
    const waiting = receive(queue.workQueueUrl, 5);
    setTimeout(() => void sqs.send(new SendMessageCommand({ QueueUrl: queue.workQueueUrl, MessageBody: 'late' })), 300);
    const [message] = await waiting;
    expect(message?.Body).toBe('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.workQueueUrl, ReceiptHandle: message!.ReceiptHandle }));
    expect(await queue.depth()).toEqual({ work: 0, deadLetters: 0 });
  });

  it('hides a received message for its visibility timeout, renewed by ChangeMessageVisibility, and back at once with 0', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.workQueueUrl, MessageBody: 'claimed' }));
    const [first] = await receive(queue.workQueueUrl, 1);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.workQueueUrl, ReceiptHandle: first!.ReceiptHandle, VisibilityTimeout: 3 }));
    // Past the queue's own 1 s: still claimed, as renewed.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await receive(queue.workQueueUrl)).toEqual([]);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.workQueueUrl, ReceiptHandle: first!.ReceiptHandle, VisibilityTimeout: 0 }));
    const [again] = await receive(queue.workQueueUrl, 1);
    expect(again).toMatchObject({ Body: 'claimed', Attributes: { ApproximateReceiveCount: '2' } });
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue', async () => {
    // The message above was received twice: the next receive moves it instead of delivering it.
    await new Promise((r) => setTimeout(r, 1200));
    expect(await receive(queue.workQueueUrl, 1)).toEqual([]);
    expect(await queue.depth()).toEqual({ work: 0, deadLetters: 1 });
    const [dead] = await receive(queue.deadLettersUrl, 1);
    expect(dead?.Body).toBe('claimed');
  });
});
