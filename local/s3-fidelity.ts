import { createHash, randomUUID } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Mutex } from 'async-mutex';
import type { Context, FilesystemStore, StoredObject } from 's3rver';
import S3Error from 's3rver/lib/models/error.js';
import { S3_MIN_PART_BYTES } from '../core/s3-rules.js';

/*
 * What S3 does that s3rver does not, put in front of it or over its store, so the local runtime meets S3's rules.
 */

/** Where s3rver's filesystem store keeps a bucket's open multipart uploads, one folder each. */
const uploadsDir = (s3Dir: string, bucket: string) => join(s3Dir, bucket, '._S3rver_uploads');

async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function answer(ctx: Context, status: number, body?: string): void {
  ctx.status = status;
  if (body === undefined) return;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

/**
 * S3's multipart rules that s3rver lacks, in front of it, so a staged upload meets here what it meets on AWS: a call
 * on an upload S3 no longer knows (completed, aborted) fails with NoSuchUpload, AbortMultipartUpload ends an upload,
 * and ListParts lists its parts. s3rver answers the rest of the multipart calls itself.
 */
export function multipartRules(s3Dir: string) {
  return async (ctx: Context, next: () => Promise<void>): Promise<void> => {
    const query = new URL(ctx.req.url ?? '/', 'http://s3').searchParams;
    const uploadId = query.get('uploadId');
    const [bucket, ...key] = ctx.path.split('/').filter(Boolean);
    if (uploadId === null || !bucket || !key.length) return next();
    // s3rver's upload ids are hex; anything else names no upload (and never a path outside the store).
    const dir = /^[0-9a-f]+$/.test(uploadId) ? join(uploadsDir(s3Dir, bucket), uploadId) : undefined;
    // As S3: an upload is known only under the key it was begun for.
    const keyOf = (folder: string) => readFile(join(folder, 'key'), 'utf8').catch(() => undefined);
    const isKnown = async () => dir !== undefined && (await keyOf(dir)) === decodeURIComponent(key.join('/'));
    const unknown = () =>
      answer(ctx, 404, `<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${/^[\w-]*$/.test(uploadId) ? uploadId : ''}</UploadId></Error>`);
    if (!(await isKnown())) return unknown();
    if (ctx.method === 'DELETE') {
      // Under the upload's lock, as Complete: of an abort and a complete at once, one ends the upload, the other finds none.
      return uploadLock([uploadId], async () => {
        if (!(await isKnown())) return unknown();
        await rm(dir!, { recursive: true, force: true });
        answer(ctx, 204);
      });
    }
    if (ctx.method !== 'GET') return next();
    const max = Number(query.get('max-parts') ?? 1000);
    const numbers = (await readdir(dir!)).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b).slice(0, max);
    const parts = await Promise.all(
      numbers.map(async (n) => {
        const path = join(dir!, String(n));
        return `<Part><PartNumber>${n}</PartNumber><ETag>"${await md5Of(path)}"</ETag><Size>${(await stat(path)).size}</Size></Part>`;
      }),
    );
    answer(ctx, 200, `<ListPartsResult><Bucket>${bucket}</Bucket><Key>${key.join('/')}</Key><UploadId>${uploadId}</UploadId>${parts.join('')}</ListPartsResult>`);
  };
}

/** Holds a lock per object while `work` runs; a holder may take its own locks again (s3rver's store calls itself). */
function objectLocks() {
  const locks = new Map<string, Mutex>();
  const held = new AsyncLocalStorage<ReadonlySet<string>>();
  return async <T>(objects: string[], work: () => Promise<T>): Promise<T> => {
    const mine = held.getStore() ?? new Set<string>();
    // Taken in one order, so two holders of two locks never wait on each other.
    const wanted = [...new Set(objects)].filter((o) => !mine.has(o)).sort();
    const releases: Array<() => void> = [];
    try {
      for (const object of wanted) {
        const lock = locks.get(object) ?? locks.set(object, new Mutex()).get(object)!;
        releases.push(await lock.acquire());
      }
      return await held.run(new Set([...mine, ...wanted]), work);
    } finally {
      releases.forEach((release, i) => {
        release();
        // No one waits for it: drop it, so a long `serve` keeps no lock per object it ever saw.
        if (!locks.get(wanted[i]!)?.isLocked()) locks.delete(wanted[i]!);
      });
    }
  };
}

/** One lock per multipart upload, by its id: Complete and Abort of one upload never run at once. */
const uploadLock = objectLocks();

const noSuchUpload = (uploadId: string) => new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });

/** Writes `content` to `path`; its MD5 (hex), taken on the way. */
async function writeHashed(content: Readable, path: string): Promise<string> {
  const md5 = createHash('md5');
  const hash = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      md5.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(content, hash, createWriteStream(path));
  return md5.digest('hex');
}

/**
 * S3's PUT is atomic and a read gets one whole version of an object. s3rver writes an object in place and answers
 * before the file is written, and keeps its bytes, length and ETag in three files a read takes one by one, so a read
 * during a PUT could see part of it, or one version's length over another's bytes. Here an object is written beside
 * its place, then renamed over it and its metadata written under the object's lock, which every read of its metadata
 * and bytes holds too (a reader that opened the old bytes keeps reading them).
 *
 * CompleteMultipartUpload is S3's too: the parts must be listed in order, each as uploaded (its ETag), each but the
 * last at least 5 MiB; the object's ETag is the MD5 of the parts' MD5s and their count (s3rver checked none of it and
 * hashed the whole object again).
 */
export function atomicObjects(store: FilesystemStore): void {
  const locked = objectLocks();
  const name = (bucket: string, key: string) => `${bucket}/${key}`;
  const { getMetadata, putMetadata, getObject, copyObject, deleteObject } = store;
  store.getMetadata = (bucket: string, key: string) => locked([name(bucket, key)], () => getMetadata.call(store, bucket, key));
  store.putMetadata = (bucket, key, ...rest) => locked([name(bucket, key)], () => putMetadata.call(store, bucket, key, ...rest));
  store.getObject = (bucket, key, ...rest) => locked([name(bucket, key)], () => getObject.call(store, bucket, key, ...rest));
  store.deleteObject = (bucket, key) => locked([name(bucket, key)], () => deleteObject.call(store, bucket, key));
  store.copyObject = (srcBucket, srcKey, destBucket, destKey, replacementMetadata) =>
    locked([name(srcBucket, srcKey), name(destBucket, destKey)], async () => {
      const copied = await copyObject.call(store, srcBucket, srcKey, destBucket, destKey, replacementMetadata);
      if (!replacementMetadata || name(srcBucket, srcKey) === name(destBucket, destKey)) return copied;
      // s3rver copies the bytes but not their MD5 when the metadata is replaced: the copy kept the old object's ETag.
      const md5 = (bucket: string, key: string) => store.getResourcePath(bucket, key, 'object.md5');
      await copyFile(md5(srcBucket, srcKey), md5(destBucket, destKey)).catch(() => rm(md5(destBucket, destKey), { force: true }));
      return store.getMetadata(destBucket, destKey);
    });

  /** Writes an object beside its place with `write`, then puts it and its metadata in place under its lock. */
  const place = async (bucket: string, key: string, metadata: Record<string, string>, write: (path: string) => Promise<string>) => {
    const objectPath = store.getResourcePath(bucket, key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const partial = `${objectPath}.${randomUUID()}.partial`;
    try {
      const etag = await write(partial);
      const { size } = await stat(partial);
      await locked([name(bucket, key)], async () => {
        await rename(partial, objectPath);
        await store.putMetadata(bucket, key, metadata, etag);
      });
      return { size, md5: etag };
    } finally {
      await rm(partial, { force: true });
    }
  };

  store.putObject = (object: StoredObject) =>
    place(object.bucket, object.key, object.metadata, (path) => writeHashed(Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content, path));

  // A part is kept only whole, as on S3: s3rver wrote it in place, and a request cut off mid-body left a partial part
  // behind and a write that never ended (a file handle held for good).
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const dir = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    const path = join(dir, String(partNumber));
    const partial = `${path}.${randomUUID()}.partial`;
    try {
      const digest = await writeHashed(content, partial).catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'ENOENT' ? noSuchUpload(uploadId) : error;
      });
      const { size } = await stat(partial);
      // Under the upload's lock: a Complete sees a part's bytes and MD5 of one version; an ended upload takes no part.
      await uploadLock([uploadId], async () => {
        if (!(await stat(dir).then(() => true, () => false))) throw noSuchUpload(uploadId);
        await writeFile(`${partial}.md5`, digest);
        await rename(partial, path);
        await rename(`${partial}.md5`, `${path}.md5`);
      });
      return { size, md5: digest };
    } finally {
      await Promise.all([rm(partial, { force: true }), rm(`${partial}.md5`, { force: true })]);
    }
  };

  store.putObjectMultipart = (bucket, uploadId, listed) => uploadLock([uploadId], async () => {
    const dir = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    // Ended meanwhile by an abort or another complete (s3rver checked before this call waited for the lock).
    const [key, metadata] = await Promise.all([readFile(join(dir, 'key'), 'utf8'), readFile(join(dir, 'metadata'), 'utf8').then(JSON.parse)]).catch(() => {
      throw noSuchUpload(uploadId);
    });
    if (listed.some((part, i) => i > 0 && part.number <= listed[i - 1]!.number)) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
    const parts = await Promise.all(
      listed.map(async ({ number, etag }) => {
        const path = join(dir, String(number));
        const md5 = await readFile(`${path}.md5`, 'utf8').catch(() => undefined);
        if (md5 === undefined || md5 !== etag) throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.', { PartNumber: String(number), ETag: etag });
        return { path, md5, size: (await stat(path)).size };
      }),
    );
    if (parts.slice(0, -1).some((p) => p.size < S3_MIN_PART_BYTES)) throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
    const result = await place(bucket, key, metadata, async (path) => {
      const out = await open(path, 'w');
      try {
        for (const part of parts) for await (const chunk of createReadStream(part.path, { highWaterMark: 1024 * 1024 })) await out.write(chunk as Buffer);
      } finally {
        await out.close();
      }
      return `${createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p.md5, 'hex')))).digest('hex')}-${parts.length}`;
    });
    await rm(dir, { recursive: true, force: true });
    return result;
  });
}
