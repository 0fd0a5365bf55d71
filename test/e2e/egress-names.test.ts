import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime } from '../../local/runtime.js';
import { setEnv } from '../fixtures/env.js';
import { makeClip } from '../fixtures/media.js';
import { startServer, type TestServer } from '../fixtures/server.js';

let restoreEnv: () => void;
let dir: string;
let runtime: LocalRuntime;
let server: TestServer;

beforeAll(async () => {
  // Nothing allowlisted: loopback, by any name, is refused (jest workers share process.env with earlier files).
  restoreEnv = setEnv({ MEDIA_INGEST_ALLOW_HOSTS: '' });
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-names-'));
  server = await startServer({ '/x.mp4': { file: makeClip(join(dir, 'media'), 'x.mp4', { seconds: 1 }) } });
  runtime = await LocalRuntime.start({ dataDir: join(dir, 'data'), retryIntervalMs: 50 });
});

afterAll(async () => {
  await runtime?.stop();
  await server?.close();
  restoreEnv?.();
  await rm(dir, { recursive: true, force: true });
});

describe('a host refused by name', () => {
  it.each(['LOCALHOST.', 'localhost.', 'LocalHost', 'localhost', 'media.LOCALHOST.'])(
    'fails http://%s:PORT/x.mp4 at once with UnsafeUrl: permanent, no retry, no request made',
    async (host) => {
      const before = server.totalRequests();
      const jobId = await runtime.submit({ source: { type: 'http', url: `http://${host}:${server.port}/x.mp4` } });
      const record = await runtime.finish(jobId);
      expect(record).toMatchObject({ status: 'FAILED', stage: 'classify', error: { code: 'UnsafeUrl' } });
      expect(record.error!.message).toContain('loopback');
      expect(record.attempts).toBe(1);
      const history = JSON.parse(await readFile(join(runtime.dataDir, 'executions', `local-${jobId}.json`), 'utf8')) as { events: Array<{ type: string }> };
      expect(history.events.filter((e) => e.type === 'StateRetried')).toEqual([]);
      expect(server.totalRequests()).toBe(before);
    },
  );

  it('the loopback server received zero requests in all', () => {
    expect(server.totalRequests()).toBe(0);
  });
});
