import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_S3_CREDENTIALS, type StandIns, startStandIns } from '../../local/standins.js';
import { withScratch } from '../fixtures/runtime.js';

/* The local runtime's S3 (s3rver with local/s3-fidelity.ts over it) keeps the S3 rules the worker relies on. */

const BUCKET = 'staging';
const MiB = 1024 * 1024;
let standIns: StandIns;
let local: S3Client;

withScratch('s3-standin', {
  setup: async (scratch) => {
    standIns = await startStandIns(join(scratch.dir, 'standins'), 'jobs', [BUCKET]);
    local = new S3Client({ region: 'us-east-1', endpoint: standIns.s3Endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
    scratch.atEnd(() => standIns.stop());
    scratch.atEnd(() => local.destroy());
  },
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const get = async (key: string) => {
  const out = await local.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return { body: Buffer.from(await out.Body!.transformToByteArray()), etag: out.ETag, length: out.ContentLength };
};

describe("the local S3 stand-in keeps S3's rules", () => {
  it('a PUT is atomic: a read during it gets the object before, a read after it the whole new one', async () => {
    const key = 'parts/list.json';
    const before = randomBytes(1 * MiB);
    await local.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: before }));
    // The new version goes up slowly, in 1 MiB chunks: reads meanwhile see the old one whole.
    const after = randomBytes(8 * MiB);
    const slowly = Readable.from(
      (async function* () {
        for (let at = 0; at < after.length; at += MiB) {
          yield after.subarray(at, at + MiB);
          await sleep(50);
        }
      })(),
    );
    const put = local.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: slowly, ContentLength: after.length }));
    await sleep(150);
    expect((await get(key)).body.equals(before)).toBe(true);
    await put;
    expect((await get(key)).body.equals(after)).toBe(true);
  });

  it('a read while PUTs replace an object gets one whole version: its bytes, length and ETag agree', async () => {
    // A part list rewritten after every part while another reader polls it (the resume test's reads, a retried worker's).
    const key = 'parts/polled.json';
    const versions = [randomBytes(200), randomBytes(256 * 1024)];
    await local.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: versions[0] }));
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 100; i++) await local.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: versions[i % 2] }));
      writing = false;
    })();
    const mixed: string[] = [];
    let reads = 0;
    const reader = async () => {
      while (writing) {
        // s3rver gave one version's length over another's bytes: a body cut short, or the SDK's "aborted".
        const { body, etag, length } = await get(key).catch((e: Error) => ({ body: Buffer.from(e.message), etag: 'error', length: -1 }));
        reads++;
        if (!versions.some((v) => v.equals(body)) || etag !== `"${md5(body)}"` || length !== body.length) mixed.push(`${body.length} bytes, length ${length}, ETag ${etag}`);
      }
    };
    await Promise.all([writer, reader(), reader(), reader()]);
    expect(reads).toBeGreaterThan(10);
    expect(mixed).toEqual([]);
  });

  it("completes an upload as S3 does: parts in order, each as uploaded, all but the last at least 5 MiB; the ETag S3's", async () => {
    const key = 'b/original';
    const { UploadId } = await local.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1000), randomBytes(1000)];
    const tags = await Promise.all(
      bodies.map(async (body, i) => (await local.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: i + 1, Body: body }))).ETag!),
    );
    const complete = (parts: number[], etag = (n: number) => tags[n - 1]!) =>
      local.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts.map((n) => ({ PartNumber: n, ETag: etag(n) })) } }));

    await expect(complete([2, 1, 3])).rejects.toMatchObject({ name: 'InvalidPartOrder', $metadata: { httpStatusCode: 400 } });
    await expect(complete([1, 2, 3], (n) => (n === 2 ? tags[0]! : tags[n - 1]!))).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(complete([1, 2, 5], (n) => tags[Math.min(n, 4) - 1]!)).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(complete([1, 3, 4])).rejects.toMatchObject({ name: 'EntityTooSmall' });
    // A refused Complete leaves the upload open, its parts kept, as on S3.
    expect((await local.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }))).Parts).toHaveLength(4);

    // Parts left out are dropped; the ETag is the MD5 of the parts' MD5s, then their count.
    const { ETag } = await complete([1, 2, 4]);
    const partMd5s = Buffer.concat([bodies[0]!, bodies[1]!, bodies[3]!].map((b) => Buffer.from(md5(b), 'hex')));
    expect(ETag).toBe(`"${md5(partMd5s)}-3"`);
    const object = await get(key);
    expect(object.body.equals(Buffer.concat([bodies[0]!, bodies[1]!, bodies[3]!]))).toBe(true);
    expect(object.etag).toBe(ETag);
  });

  it('a copy that replaces an object carries its own ETag, not the replaced one\'s', async () => {
    const [first, second] = [randomBytes(1000), randomBytes(2000)];
    await local.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/from', Body: second }));
    await local.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/to', Body: first }));
    // As publish copies: the metadata replaced (its Content-Type set).
    await local.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/to', CopySource: `${BUCKET}/copy/from`, MetadataDirective: 'REPLACE', ContentType: 'video/mp4' }));
    const copy = await get('copy/to');
    expect(copy.body.equals(second)).toBe(true);
    expect(copy.etag).toBe(`"${md5(second)}"`);
  });

  it('of a Complete and an Abort of one upload at once, one ends it and the other finds no upload, as on S3', async () => {
    for (let i = 0; i < 6; i++) {
      const key = `race/${i}`;
      const { UploadId } = await local.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      const { ETag } = await local.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: randomBytes(8 * MiB) }));
      const outcome = (p: Promise<unknown>) => p.then(() => 'done', (e: Error) => e.name);
      // The abort sent a moment after the complete began: s3rver had let both through its checks.
      const complete = outcome(local.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } })));
      await sleep(i);
      const abort = outcome(local.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId })));
      const [completed, aborted] = await Promise.all([complete, abort]);
      const stored = await get(key).then(() => true, () => false);
      expect([completed, aborted, stored]).toEqual(completed === 'done' ? ['done', 'NoSuchUpload', true] : ['NoSuchUpload', 'done', false]);
    }
  });

  it('keeps no part of an UploadPart cut off mid-body, as S3: the part is not listed, and sent again it completes', async () => {
    const key = 'cut/original';
    const { UploadId } = await local.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const body = randomBytes(6 * MiB);
    const cut = new AbortController();
    const slowly = Readable.from(
      (async function* () {
        yield body.subarray(0, MiB);
        await sleep(5_000);
        yield body.subarray(MiB);
      })(),
    );
    const sent = local.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: slowly, ContentLength: body.length }), { abortSignal: cut.signal });
    await sleep(300);
    cut.abort();
    await expect(sent).rejects.toThrow();
    await sleep(100);
    expect((await local.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }))).Parts ?? []).toEqual([]);
    const { ETag } = await local.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: body }));
    await local.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
    expect((await get(key)).body.equals(body)).toBe(true);
  });

  it('an aborted or completed upload is unknown to every later call; ListParts lists an open one', async () => {
    const key = 'a/original';
    const begin = async () => (await local.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))).UploadId!;
    const part = (UploadId: string, body: Buffer) => local.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: body }));
    const parts = (UploadId: string) => local.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }));
    const complete = (UploadId: string, ETag: string) =>
      local.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
    const noSuchUpload = { name: 'NoSuchUpload' };

    const body = randomBytes(1000);
    const open = await begin();
    const { ETag } = await part(open, body);
    expect((await parts(open)).Parts).toEqual([expect.objectContaining({ PartNumber: 1, ETag: `"${md5(body)}"`, Size: 1000 })]);
    await local.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: open }));
    await expect(parts(open)).rejects.toMatchObject(noSuchUpload);
    await expect(part(open, body)).rejects.toMatchObject(noSuchUpload);
    await expect(complete(open, ETag!)).rejects.toMatchObject(noSuchUpload);

    const done = await begin();
    await complete(done, (await part(done, body)).ETag!);
    await expect(parts(done)).rejects.toMatchObject(noSuchUpload);
    await expect(local.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: '../../x' }))).rejects.toMatchObject(noSuchUpload);
    // An upload is known only under the key it was begun for.
    const other = await begin();
    await expect(local.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'a/elsewhere', UploadId: other }))).rejects.toMatchObject(noSuchUpload);
    expect((await parts(other)).Parts ?? []).toEqual([]);
  });
});
