import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { startApiServer } from '../../local/api-server.js';
import { ff, makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';

const MiB = 1024 * 1024;
let api: { server: Server; url: string };

// The smallest threshold S3's 5 MiB parts allow, so a test file goes up in parts.
const fx = withRuntime('upload-tickets', { runtime: { allowHosts: [], settings: { multipartUploadThresholdBytes: 5 * MiB, uploadQuotaBytes: 256 * MiB } } });

beforeAll(async () => {
  api = await startApiServer(0, fx.runtime);
  fx.atEnd(() => api.server.close());
});

interface Ticket {
  id: string;
  key: string;
  size: number;
  url?: string;
  headers?: Record<string, string>;
  parts?: Array<{ part_number: number; bytes: number; url: string }>;
  complete?: { method: string; path: string };
  source: { type: 'upload'; url: string };
}

const postJson = (path: string, body: unknown) =>
  fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function ticketFor(body: unknown): Promise<Ticket> {
  const res = await postJson('/uploads', body);
  expect(res.status).toBe(201);
  return (await res.json()) as Ticket;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('upload tickets', () => {
  it('states the declared size, and the local S3 refuses a body larger or smaller than it', async () => {
    const clip = readFileSync(makeClip(join(fx.dir, 'media'), 'clip.mp4', { seconds: 2 }));
    const ticket = await ticketFor({ filename: 'clip.mp4', content_type: 'video/mp4', size: clip.length });
    expect(ticket).toMatchObject({ size: clip.length, headers: { 'content-length': String(clip.length) } });
    for (const body of [Buffer.concat([clip, clip]), clip.subarray(0, clip.length - 1)]) {
      const put = await fetch(ticket.url!, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body });
      expect(put.status).toBe(403);
      expect(await put.text()).toContain('SignatureDoesNotMatch');
    }
    await expect(fx.runtime.s3.send(new HeadObjectCommand({ Bucket: fx.runtime.config.STAGING_BUCKET, Key: ticket.key }))).rejects.toMatchObject({ name: 'NotFound' });
    const put = await fetch(ticket.url!, { method: 'PUT', headers: ticket.headers, body: clip });
    expect(put.status).toBe(200);
    const record = await fx.runtime.finish(await fx.runtime.submit({ source: ticket.source }));
    expect(record.status).toBe('SUCCEEDED');
  });

  it('refuses a declared size over the job limit with 400, and one past the tenant\'s quota with 403', async () => {
    const tooLarge = await postJson('/uploads', { filename: 'huge.mp4', size: 11 * 1024 ** 3 });
    expect(tooLarge.status).toBe(400);
    expect(await tooLarge.json()).toMatchObject({ error: { code: 'TooLarge' } });
    const missing = await postJson('/uploads', { filename: 'x.mp4' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { code: 'InvalidRequest', message: expect.stringContaining('size') } });
    // Declared and never uploaded: it counts until it expires.
    await ticketFor({ filename: 'reserved.mp4', size: 200 * MiB });
    const over = await postJson('/uploads', { filename: 'more.mp4', size: 100 * MiB });
    expect(over.status).toBe(403);
    expect(await over.json()).toMatchObject({ error: { code: 'QuotaExceeded', message: expect.stringContaining(String(256 * MiB)) } });
  });

  it('gives a file over the threshold part URLs; completed through the API it becomes a job that SUCCEEDS with the file\'s sha256', async () => {
    const path = join(fx.dir, 'media', 'big.mp4');
    await mkdir(join(fx.dir, 'media'), { recursive: true });
    // Noise does not compress: a second and a half of lossless video is over 10 MiB.
    ff('-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=1.5', '-f', 'lavfi', '-i', 'sine=duration=1.5', '-vf', 'noise=alls=40:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-c:a', 'aac', '-shortest', path);
    const file = readFileSync(path);
    expect(file.length).toBeGreaterThan(10 * MiB);
    const ticket = await ticketFor({ filename: 'big.mp4', content_type: 'video/mp4', size: file.length });
    expect(ticket.url).toBeUndefined();
    expect(ticket.parts!.slice(0, -1).map((p) => p.bytes)).toEqual([5 * MiB, 5 * MiB]);
    expect(ticket.parts!.reduce((n, p) => n + p.bytes, 0)).toBe(file.length);

    // A part larger than its URL was signed for is refused like a single PUT.
    const first = ticket.parts![0]!;
    expect((await fetch(first.url, { method: 'PUT', body: file.subarray(0, first.bytes + 1) })).status).toBe(403);

    const etags: Array<{ part_number: number; etag: string }> = [];
    let at = 0;
    for (const part of ticket.parts!) {
      const put = await fetch(part.url, { method: 'PUT', body: file.subarray(at, (at += part.bytes)) });
      expect(put.status).toBe(200);
      etags.push({ part_number: part.part_number, etag: put.headers.get('etag')! });
    }
    const incomplete = await postJson(ticket.complete!.path, { parts: etags.slice(1) });
    expect(incomplete.status).toBe(400);
    expect((await postJson('/uploads/00000000-0000-4000-8000-000000000000/complete', { parts: etags })).status).toBe(404);
    const done = await postJson(ticket.complete!.path, { parts: etags });
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ key: ticket.key, size: file.length, source: ticket.source });

    const record = await fx.runtime.finish(await fx.runtime.submit({ source: ticket.source }));
    expect(record.status).toBe('SUCCEEDED');
    expect(record.checkpoints.extract).toMatchObject({ source: { bytes: file.length, sha256: sha256(file) } });
  });
});
