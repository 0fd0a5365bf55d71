import type { Server } from 'node:http';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApiServer } from '../../local/api-server.js';
import { makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { isProbe, serveRange, stall, type TestServer } from '../fixtures/server.js';

let media: TestServer;
let api: { server: Server; url: string };

const fx = withRuntime('api', {
  // A short claim: a lost worker's step comes back soon, and a cancel reaches its worker within seconds.
  runtime: { settings: { visibilityTimeoutSeconds: 5 } },
  setup: async ({ dir, serve }) => {
    const clip = makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2 });
    media = await serve({
      '/clip.mp4': { file: clip },
      // Probes get the head; the download gets half the file and then nothing, until the client leaves.
      '/stall.mp4': { handler: (req, res) => (isProbe(req) ? serveRange(req, res, clip) : stall(res, readFileSync(clip).subarray(0, 100_000), statSync(clip).size, 30_000)) },
    });
  },
});

beforeAll(async () => {
  api = await startApiServer(0, fx.runtime);
  fx.atEnd(() => api.server.close());
});

const post = (body: string) => fetch(`${api.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('the loopback HTTP API', () => {
  it('answers POST /jobs with 202 and the job id, and GET /jobs/{id} with the record', async () => {
    const res = await post(JSON.stringify({ job_id: 'api-job-1', source: { type: 'http', url: media.url('/clip.mp4') } }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ jobId: 'api-job-1', status: 'QUEUED' });
    await fx.runtime.finish('api-job-1');
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
    ['{"source":{"type":"http","url":"http://x/a.mp4"},"connections":65}', 'connections'],
    ['not json', '(body)'],
  ])('answers a bad body %s with 400 naming the field %s', async (body, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('InvalidRequest');
    expect(json.error.message).toContain(field);
  });

  it('lists the caller\'s jobs newest first, a page at a time', async () => {
    for (const id of ['list-a', 'list-b', 'list-c']) {
      await post(JSON.stringify({ job_id: id, source: { type: 'http', url: media.url('/clip.mp4') } }));
      await sleep(5);
    }
    await Promise.all(['list-a', 'list-b', 'list-c'].map((id) => fx.runtime.finish(id)));
    const first = (await (await fetch(`${api.url}/jobs?limit=2`)).json()) as { jobs: Array<{ jobId: string; createdAt: string }>; next?: string };
    expect(first.jobs.map((j) => j.jobId)).toEqual(['list-c', 'list-b']);
    expect(first.next).toEqual(expect.any(String));
    const rest = (await (await fetch(`${api.url}/jobs?limit=10&next=${first.next}`)).json()) as { jobs: Array<{ jobId: string }>; next?: string };
    expect(rest.jobs.map((j) => j.jobId)).toEqual(['list-a', 'api-job-1']);
    expect(rest.next).toBeUndefined();
    expect((await fetch(`${api.url}/jobs?limit=0`)).status).toBe(400);
    expect((await fetch(`${api.url}/jobs?next=bogus`)).status).toBe(400);
  });

  it('keeps a request\'s connections in the job\'s options, not in its request', async () => {
    const res = await post(JSON.stringify({ job_id: 'api-conn', source: { type: 'http', url: media.url('/clip.mp4') }, connections: 3 }));
    expect(res.status).toBe(202);
    const record = await fx.runtime.finish('api-conn');
    expect(record).toMatchObject({ status: 'SUCCEEDED', options: { connections: 3 } });
    expect(record.request).not.toHaveProperty('connections');
  });

  it('cancels a running job: execution stopped, worker gone, record CANCELLED, staging emptied', async () => {
    await post(JSON.stringify({ job_id: 'cancel-me', source: { type: 'http', url: media.url('/stall.mp4') } }));
    for (let i = 0; i < 100 && (await fx.runtime.job('cancel-me'))?.stage !== 'extract'; i++) await sleep(100);
    // A process group is alive while any process in it (bubblewrap, the worker, its tools) is.
    const alive = (group: number) => {
      try {
        process.kill(-group, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && !fx.runtime.workers.busy().length; i++) await sleep(100);
    // The worker holding the step: it drops it at its next heartbeat and ends (the pool starts another).
    const tasks = fx.runtime.workers.busy();
    expect(tasks).not.toEqual([]);
    const res = await fetch(`${api.url}/jobs/cancel-me`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ jobId: 'cancel-me', status: 'CANCELLED' });
    const record = await fx.runtime.finish('cancel-me');
    expect(record).toMatchObject({ status: 'CANCELLED', error: { code: 'Cancelled' } });
    for (let i = 0; i < 50 && tasks.some(alive); i++) await sleep(100);
    expect(tasks.filter(alive)).toEqual([]);
    expect(() => statSync(join(fx.runtime.workDir, 'cancel-me'))).toThrow(/ENOENT/);
    const staged = await fx.runtime.s3.send(new ListObjectsV2Command({ Bucket: fx.runtime.config.STAGING_BUCKET, Prefix: 'staging/local/cancel-me/' }));
    expect(staged.KeyCount ?? 0).toBe(0);
  });

  it('answers a cancel of a job that has ended with 409, and of an unknown job with 404', async () => {
    expect((await fetch(`${api.url}/jobs/api-job-1`, { method: 'DELETE' })).status).toBe(409);
    expect((await fetch(`${api.url}/jobs/nope`, { method: 'DELETE' })).status).toBe(404);
  });

  it('answers an unknown job with 404', async () => {
    const res = await fetch(`${api.url}/jobs/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'JobNotFound' } });
  });

  it.each([
    ['GET', '/jobs/' + 'x'.repeat(1100)],
    ['DELETE', '/jobs/' + 'x'.repeat(1100)],
    ['GET', '/jobs/has.a.dot'],
    ['POST', `/uploads/${'u'.repeat(1100)}/complete`],
  ])('answers %s %s, an id no job or upload can have, with 400 InvalidRequest', async (method, path) => {
    const res = await fetch(`${api.url}${path}`, { method, ...(method === 'POST' ? { body: '{"parts":[]}' } : {}) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'InvalidRequest', message: expect.stringMatching(/^id: /) } });
  });

  it('runs two jobs whose 80-character ids share their first 76 characters as two executions', async () => {
    // A cut "local-<id>" to 80 characters would give both the same name.
    const shared = `long-${'0123456789'.repeat(8)}`.slice(0, 76);
    const ids = [`${shared}-one`, `${shared}-two`];
    for (const id of ids) {
      const res = await post(JSON.stringify({ job_id: id, source: { type: 'http', url: media.url('/clip.mp4') } }));
      expect(res.status).toBe(202);
    }
    const records = await Promise.all(ids.map((id) => fx.runtime.finish(id)));
    expect(records.map((r) => [r.jobId, r.status])).toEqual(ids.map((id) => [id, 'SUCCEEDED']));
    const names = records.map((r) => r.executionArn!.split(':').pop()!);
    expect(new Set(names).size).toBe(2);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(records[0]!.artifacts[0]!.key).not.toBe(records[1]!.artifacts[0]!.key);
  });
});

describe('uploads through the API', () => {
  it('POST /uploads gives a presigned PUT URL under the tenant\'s prefix; the uploaded file becomes a job\'s source', async () => {
    const clip = readFileSync(join(fx.dir, 'media', 'clip.mp4'));
    const res = await fetch(`${api.url}/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: '../../My Clip.mp4', content_type: 'video/mp4', size: clip.length }) });
    expect(res.status).toBe(201);
    const ticket = (await res.json()) as { key: string; url: string; method: string; headers: Record<string, string>; source: unknown };
    expect(ticket.key).toMatch(/^uploads\/local\/[0-9a-f-]{36}\/My_Clip\.mp4$/);
    expect(ticket.source).toEqual({ type: 'upload', url: ticket.key });
    const put = await fetch(ticket.url, { method: ticket.method, headers: ticket.headers, body: clip });
    expect(put.status).toBe(200);
    const job = await post(JSON.stringify({ job_id: 'api-upload-1', source: ticket.source }));
    expect(job.status).toBe(202);
    const record = await fx.runtime.finish('api-upload-1');
    expect(record.status).toBe('SUCCEEDED');
    expect(record.checkpoints.classify).toMatchObject({ kind: 'upload', bytes: clip.length });
  });

  it('refuses an unknown field with 400', async () => {
    const res = await fetch(`${api.url}/uploads`, { method: 'POST', body: JSON.stringify({ key: 'uploads/other/x.mp4' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'InvalidRequest' } });
  });
});
