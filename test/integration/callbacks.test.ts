import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverCallback, SIGNATURE_HEADER } from '../../core/callbacks.js';
import { jobsTable } from '../../core/component.js';
import { createQueued } from '../../core/records.js';
import { LocalRuntime } from '../../local/runtime.js';
import { startServer, type TestServer } from '../fixtures/server.js';

let dir: string;
let runtime: LocalRuntime;
/** The allowlisted receiver, on 127.0.0.2. */
let receiver: TestServer;
/** Another host the egress policy would let through, but the callback allowlist does not name. */
let elsewhere: TestServer;
const delivered: Array<{ path: string; body: string; signature: string | undefined }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-callbacks-'));
  elsewhere = await startServer({ '/steal': { status: 200 } }, '127.0.0.3');
  const record = (path: string) => ({
    handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        delivered.push({ path, body: Buffer.concat(chunks).toString('utf8'), signature: req.headers[SIGNATURE_HEADER] as string | undefined });
        res.writeHead(200).end();
      });
    },
  });
  receiver = await startServer(
    {
      '/off-list': { status: 307, headers: { location: elsewhere.url('/steal') } },
      '/same-host': { status: 307, headers: { location: '/final' } },
      '/final': record('/final'),
    },
    '127.0.0.2',
  );
  runtime = await LocalRuntime.start({
    dataDir: join(dir, 'data'),
    // Both hosts pass the egress policy: only the callback allowlist can keep the record from 127.0.0.3.
    allowHosts: ['127.0.0.2', '127.0.0.3'],
    env: { ...process.env, MEDIA_INGEST_CALLBACK_SECRET: 'a-long-enough-signing-secret', MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: '127.0.0.2' },
  });
});

afterAll(async () => {
  await runtime?.stop();
  await receiver?.close();
  await elsewhere?.close();
  await rm(dir, { recursive: true, force: true });
});

async function deliver(jobId: string, callbackUrl: string) {
  const deps = runtime.deps('notify');
  const request = { source: { type: 'http' as const, url: 'http://127.0.0.2/a.mp4' }, actions: ['download' as const], callback_url: callbackUrl };
  // The job as start-job would have recorded it (an operator's write: not held to notify's role).
  await createQueued({ db: runtime.operator.db, name: deps.config.JOBS_TABLE }, { tenant: 'local', jobId, request, options: { connections: 1 }, ttlDays: 1 });
  const outcome = await deliverCallback(deps.config, jobsTable(deps), 'local', jobId, callbackUrl);
  return { outcome, record: await runtime.job(jobId) };
}

describe('callback redirects', () => {
  it('ends delivery at a hop off the callback allowlist: nothing reaches that host, and the record says why', async () => {
    const { outcome, record } = await deliver('cb-off-list', receiver.url('/off-list'));
    expect(elsewhere.totalRequests()).toBe(0);
    expect(outcome).toMatchObject({ delivered: false, attempts: 1, error: expect.stringMatching(/^UnsafeUrl: .*host 127\.0\.0\.3 refused/) });
    expect(record?.callback).toEqual(outcome);
  });

  it('follows a redirect to the same allowlisted host and delivers the signed record there', async () => {
    const { outcome, record } = await deliver('cb-same-host', receiver.url('/same-host'));
    expect(outcome).toEqual({ delivered: true, status: 200, attempts: 1 });
    expect(record?.callback).toEqual(outcome);
    const final = delivered.find((d) => JSON.parse(d.body).jobId === 'cb-same-host');
    expect(final).toMatchObject({ path: '/final', signature: expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/) });
  });
});
