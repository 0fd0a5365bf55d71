import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../../local/api-server.js';
import { LocalRuntime } from '../../local/runtime.js';
import { makeClip } from '../fixtures/media.js';
import { startServer, type TestServer } from '../fixtures/server.js';

let dir: string;
let runtime: LocalRuntime;
let media: TestServer;
let api: { server: Server; url: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-api-'));
  media = await startServer({ '/clip.mp4': { file: makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2 }) } });
  runtime = await LocalRuntime.start({ dataDir: join(dir, 'data'), allowHosts: ['127.0.0.1'] });
  api = await startApiServer(0);
});

afterAll(async () => {
  api?.server.close();
  await runtime?.stop();
  await media?.close();
  await rm(dir, { recursive: true, force: true });
});

const post = (body: string) => fetch(`${api.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('the loopback HTTP API', () => {
  it('answers POST /jobs with 202 and the job id, and GET /jobs/{id} with the record', async () => {
    const res = await post(JSON.stringify({ job_id: 'api-job-1', source: { type: 'http', url: media.url('/clip.mp4') } }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ jobId: 'api-job-1', status: 'QUEUED' });
    await runtime.finish('api-job-1');
    const got = await fetch(`${api.url}/jobs/api-job-1`);
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ jobId: 'api-job-1', tenant: 'local', status: 'SUCCEEDED' });
  });

  it('answers a second job with the same id with 409', async () => {
    const res = await post(JSON.stringify({ job_id: 'api-job-1', source: { type: 'http', url: media.url('/clip.mp4') } }));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'Conflict' } });
  });

  it.each([
    ['{"source":{"type":"http"}}', 'source.url'],
    ['{"source":{"type":"http","url":"http://x/a.mp4"},"actions":["nope"]}', 'actions.0'],
    ['{"source":{"type":"http","url":"http://x/a.mp4"},"storage_path":"../../other-tenant"}', 'storage_path'],
    ['not json', '(body)'],
  ])('answers a bad body %s with 400 naming the field %s', async (body, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('InvalidRequest');
    expect(json.error.message).toContain(field);
  });

  it('answers an unknown job with 404', async () => {
    const res = await fetch(`${api.url}/jobs/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'JobNotFound' } });
  });
});
