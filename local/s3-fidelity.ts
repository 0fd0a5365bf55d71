import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Context, FilesystemStore, StoredObject } from 's3rver';

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
    const known = dir !== undefined && (await keyOf(dir)) === decodeURIComponent(key.join('/'));
    if (!known) {
      return answer(ctx, 404, `<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${/^[\w-]*$/.test(uploadId) ? uploadId : ''}</UploadId></Error>`);
    }
    if (ctx.method === 'DELETE') {
      await rm(dir, { recursive: true, force: true });
      return answer(ctx, 204);
    }
    if (ctx.method !== 'GET') return next();
    const max = Number(query.get('max-parts') ?? 1000);
    const numbers = (await readdir(dir)).filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b).slice(0, max);
    const parts = await Promise.all(
      numbers.map(async (n) => {
        const path = join(dir, String(n));
        return `<Part><PartNumber>${n}</PartNumber><ETag>"${await md5Of(path)}"</ETag><Size>${(await stat(path)).size}</Size></Part>`;
      }),
    );
    answer(ctx, 200, `<ListPartsResult><Bucket>${bucket}</Bucket><Key>${key.join('/')}</Key><UploadId>${uploadId}</UploadId>${parts.join('')}</ListPartsResult>`);
  };
}

/**
 * S3's PUT is atomic and read-after-write consistent: s3rver writes an object in place and answers before the file is
 * written, so a read right after (or during) a PUT could see part of it. Here an object is written beside its place and
 * renamed over it once whole (a reader of the old one keeps reading it), before the PUT is answered.
 */
export function atomicPuts(store: FilesystemStore): void {
  store.putObject = async (object: StoredObject) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const partial = `${objectPath}.${randomUUID()}.partial`;
    const md5 = createHash('md5');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(content, count, createWriteStream(partial));
      await rename(partial, objectPath);
    } finally {
      await rm(partial, { force: true });
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}
