import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCallLog } from '../../core/call-log.js';
import { makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import type { TestServer } from '../fixtures/server.js';

let server: TestServer;

// Two workers, sharing one scratch as a task's slots share its disk: the local queue hands a step to the worker that
// has waited longest, so a job's steps alternate between them, and each finds what the other kept.
const fx = withRuntime('cache', {
  runtime: { workers: 2 },
  setup: async ({ dir, serve }) => {
    server = await serve({ '/clip.mp4': { file: makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2 }) } });
  },
});

/** The staging keys the worker read with GetObject. */
async function workerReads(): Promise<string[]> {
  const calls = parseCallLog(await readFile(join(fx.runtime.dataDir, 'work', 'aws-calls.jsonl'), 'utf8'));
  return calls.filter((c) => c.component === 'worker' && c.command === 'GetObject').map((c) => (c.resource as { key: string }).key);
}

/** Which worker log each of the job's steps started in. */
async function stepWorkers(jobId: string): Promise<string[]> {
  const logs = (await readdir(join(fx.runtime.dataDir, 'logs'))).filter((f) => f.startsWith('worker'));
  const found: string[] = [];
  for (const f of logs) {
    const lines = (await readFile(join(fx.runtime.dataDir, 'logs', f), 'utf8')).split('\n');
    for (const line of lines) if (line.includes('"step started"') && line.includes(jobId)) found.push(f);
  }
  return found;
}

describe("the worker's cache across a job's steps", () => {
  it('merge and transcribe read what the steps before them kept, on either worker: no GetObject of the original or the audio', async () => {
    const before = fx.runtime.s3Traffic;
    const record = await fx.runtime.finish(await fx.runtime.submit({ source: { type: 'http', url: server.url('/clip.mp4') }, actions: ['download', 'transcode', 'transcribe'] }));
    expect(record.status).toBe('SUCCEEDED');
    const reads = await workerReads();
    const original = (record.checkpoints.extract as unknown as { source: { key: string } }).source.key;
    const audio = (record.checkpoints.merge as unknown as { files: Record<string, { key: string }> }).files['audio.wav']!.key;
    const staged = [original, audio];
    expect(staged).toHaveLength(2);
    for (const key of staged) expect(reads).not.toContain(key);
    expect(new Set(await stepWorkers(record.jobId)).size).toBe(2);
    // The source went through S3 once (up, at extract): publish copies source.mp4 from it in S3, and merge read it from disk.
    const { up, down } = fx.runtime.s3Traffic;
    const files = (record.checkpoints.merge as unknown as { files: Record<string, { bytes: number }> }).files;
    const sourceBytes = files['source.mp4']!.bytes;
    expect(down - before.down).toBeLessThan(64 * 1024);
    expect(up - before.up).toBeGreaterThanOrEqual(sourceBytes);
    expect(up - before.up).toBeLessThan(sourceBytes + files['audio.wav']!.bytes + 256 * 1024);
  });
});
