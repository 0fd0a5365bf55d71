import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { progressReporter } from '../../../containers/media-worker/context.js';
import type { ExecutionInput } from '../../../core/job.js';

/** A table that keeps the progress each write sets. */
function recordingTable() {
  const writes: Array<Record<string, number | string>> = [];
  const db = { send: async (command: { input: { ExpressionAttributeValues: Record<string, unknown> } }) => writes.push(command.input.ExpressionAttributeValues[':p'] as Record<string, number>) };
  return { writes, table: { db: db as unknown as DynamoDBDocumentClient, name: 'jobs' } };
}
const input = { tenant: 't', jobId: 'j' } as ExecutionInput;

describe('a step’s progress on the record', () => {
  it('writes at once, then at most once a second, and the latest figures at the end of that second', async () => {
    const { writes, table } = recordingTable();
    const { report, stop } = progressReporter(table, input, 'extract');
    report(10, 100);
    report(20, 100);
    report(30, 100);
    expect(writes).toEqual([expect.objectContaining({ step: 'extract', bytes: 10, totalBytes: 100 })]);
    // Nothing more arrives (a stalled download): the last figures still land.
    await sleep(1200);
    expect(writes).toEqual([expect.objectContaining({ bytes: 10 }), expect.objectContaining({ bytes: 30, totalBytes: 100 })]);
    stop();
  });

  it('writes the finished figures at once, and an estimate below the bytes in is no total', () => {
    const { writes, table } = recordingTable();
    const { report, stop } = progressReporter(table, input, 'extract');
    report(50, 40);
    report(100, 100);
    expect(writes).toEqual([expect.objectContaining({ bytes: 50, totalBytes: undefined }), expect.objectContaining({ bytes: 100, totalBytes: 100 })]);
    stop();
  });

  it('writes nothing after the step stops', async () => {
    const { writes, table } = recordingTable();
    const { report, stop } = progressReporter(table, input, 'merge');
    report(1);
    report(2);
    stop();
    await sleep(1200);
    expect(writes).toEqual([expect.objectContaining({ bytes: 1 })]);
  });
});
