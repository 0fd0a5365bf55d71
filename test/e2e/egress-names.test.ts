import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import type { TestServer } from '../fixtures/server.js';

let server: TestServer;

const fx = withRuntime('names', {
  // Nothing allowlisted: loopback, by any name, is refused (jest workers share process.env with earlier files).
  env: { MEDIA_INGEST_ALLOW_HOSTS: '' },
  runtime: { allowHosts: [], retryIntervalMs: 50 },
  setup: async ({ dir, serve }) => {
    server = await serve({ '/x.mp4': { file: makeClip(join(dir, 'media'), 'x.mp4', { seconds: 1 }) } });
  },
});

describe('a host refused by name', () => {
  it.each(['LOCALHOST.', 'localhost.', 'LocalHost', 'localhost', 'media.LOCALHOST.'])(
    'fails http://%s:PORT/x.mp4 at once with UnsafeUrl: permanent, no retry, no request made',
    async (host) => {
      const before = server.totalRequests();
      const jobId = await fx.runtime.submit({ source: { type: 'http', url: `http://${host}:${server.port}/x.mp4` } });
      const record = await fx.runtime.finish(jobId);
      expect(record).toMatchObject({ status: 'FAILED', stage: 'classify', error: { code: 'UnsafeUrl' } });
      expect(record.error!.message).toContain('loopback');
      expect(record.attempts).toBe(1);
      const history = JSON.parse(await readFile(join(fx.runtime.dataDir, 'executions', `local-${jobId}.json`), 'utf8')) as { events: Array<{ type: string }> };
      expect(history.events.filter((e) => e.type === 'StateRetried')).toEqual([]);
      expect(server.totalRequests()).toBe(before);
    },
  );

  it('the loopback server received zero requests in all', () => {
    expect(server.totalRequests()).toBe(0);
  });
});
