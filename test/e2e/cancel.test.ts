import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { serveRange, type TestServer } from '../fixtures/server.js';

const MiB = 1024 * 1024;
let server: TestServer;

/** Answers the origin is still sending. */
let sending = 0;

/** Polls `check` every 200 ms until it holds or `ms` pass; whether it held. */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await sleep(200);
  }
}

const fx = withRuntime('cancel', {
  setup: async ({ dir, serve }) => {
    const clip = makeClip(dir, 'clip.mp4', { seconds: 2 });
    // 24 MiB at 256 KiB/s for each of 4 connections: the download would take 24 s.
    const big = Buffer.alloc(24 * MiB);
    readFileSync(clip).copy(big);
    server = await serve({
      '/slow.mp4': {
        handler: (req, res) => {
          sending++;
          res.once('close', () => sending--);
          serveRange(req, res, big, { rate: 256 * 1024 });
        },
      },
    });
  },
});

describe('a cancel during a throttled download', () => {
  it('stops the reading within 5 s and leaves nothing of the job in staging or scratch', async () => {
    const jobId = 'cancel-throttled';
    await fx.runtime.submit({ job_id: jobId, source: { type: 'http', url: server.url('/slow.mp4') }, connections: 4 });
    // Cancelled once bytes are flowing into the staged upload.
    expect(await within(30_000, async () => ((await fx.runtime.job(jobId))?.progress?.bytes ?? 0) > 2 * MiB)).toBe(true);
    await fx.runtime.cancel(jobId);
    const cancelled = Date.now();
    expect(await fx.runtime.finish(jobId)).toMatchObject({ status: 'CANCELLED', error: { code: 'Cancelled' } });
    // Within 5 s of the cancel the worker reads nothing more from the source, and asks it for nothing more.
    expect(await within(5_000 - (Date.now() - cancelled), async () => sending === 0)).toBe(true);
    const requests = server.totalRequests();
    const staged = async () =>
      (await fx.runtime.s3.send(new ListObjectsV2Command({ Bucket: fx.runtime.config.STAGING_BUCKET, Prefix: `staging/local/${jobId}/` }))).KeyCount ?? 0;
    // 20 s on (long after any write in flight at the cancel), nothing of the job is left: no part list, no staged
    // object, no scratch.
    await sleep(20_000 - (Date.now() - cancelled));
    expect({ staged: await staged(), scratch: existsSync(join(fx.runtime.workDir, jobId)) }).toEqual({ staged: 0, scratch: false });
    expect(server.totalRequests()).toBe(requests);
  }, 90_000);
});
