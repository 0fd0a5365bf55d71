import { request } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApiServer } from '../../local/api-server.js';
import { makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { trickleRoute, type TestServer } from '../fixtures/server.js';

let media: TestServer;
let api: { server: Server; url: string };

const fx = withRuntime('api-limits', {
  setup: async ({ dir, serve, atEnd }) => {
    // A source that takes a few seconds: the job is running while the hostile requests arrive.
    media = await serve({ '/slow.mp4': trickleRoute(makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2 }), 16 * 1024, 100) });
    atEnd(() => {
      api?.server.close();
      api?.server.closeAllConnections();
    });
  },
});

beforeAll(async () => {
  api = await startApiServer(0, fx.runtime, { bodyTimeoutMs: 1000 });
});

interface Sent {
  status: number;
  body: { error: { code: string; message: string } };
  /** Body bytes the client managed to hand over before the answer. */
  written: number;
}

/**
 * POSTs `/jobs` writing `chunk` every `everyMs` (at most `chunks` times, a declared length when `length` is given)
 * until the server answers; the answer, and how much of the body got out before it.
 */
function send(chunk: Buffer, chunks: number, everyMs: number, length?: number): Promise<Sent> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const headers = { 'content-type': 'application/json', ...(length !== undefined ? { 'content-length': length } : {}) };
    const req = request(`${api.url}/jobs`, { method: 'POST', headers }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), written }));
    });
    // The server closes the connection after its answer: a write that fails then is expected.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const pump = async () => {
      for (let i = 0; i < chunks && !answered && !req.destroyed; i++) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r).once('close', r));
        written += chunk.length;
        if (everyMs) await sleep(everyMs);
      }
    };
    void pump();
  });
}

describe('bounded requests to the local API', () => {
  it('answers a 50 MB body with 413 PayloadTooLarge without reading it, and a body that trickles with 408, while a job runs on to SUCCEEDED', async () => {
    const started = await fetch(`${api.url}/jobs`, { method: 'POST', body: JSON.stringify({ job_id: 'runs-on', source: { type: 'http', url: media.url('/slow.mp4') } }) });
    expect(started.status).toBe(202);
    for (let i = 0; i < 100 && (await fx.runtime.job('runs-on'))?.stage !== 'extract'; i++) await sleep(100);

    const mb = Buffer.alloc(1024 * 1024, 0x20);
    const huge = await send(mb, 50, 0, 50 * mb.length);
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PayloadTooLarge');
    expect(huge.written).toBeLessThan(50 * mb.length);

    // Chunked, no length: counted as it comes, refused once past the route's limit.
    const chunked = await send(mb, 50, 0);
    expect(chunked.status).toBe(413);
    expect(chunked.written).toBeLessThan(50 * mb.length);

    const t0 = Date.now();
    const trickle = await send(Buffer.from(' '), 600, 50);
    expect(trickle.status).toBe(408);
    expect(trickle.body.error.code).toBe('RequestTimeout');
    expect(Date.now() - t0).toBeLessThan(10_000);

    expect((await fx.runtime.job('runs-on'))?.status).toBe('RUNNING');
    const record = await fx.runtime.finish('runs-on');
    expect(record.status).toBe('SUCCEEDED');
  });

  it('answers a route it does not have with 404 RouteNotFound, and keeps serving', async () => {
    const answer = await fetch(`${api.url}/jobz`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(404);
    expect(await answer.json()).toEqual({ error: { code: 'RouteNotFound', message: 'no route POST /jobz' } });
    expect((await fetch(`${api.url}/jobs/none`)).status).toBe(404);
  });
});
