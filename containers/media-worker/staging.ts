import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileRef } from '../../core/job.js';

/** Hashes and counts what flows through it, so a file is read once for both transfer and sha256. */
class Digest extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (err: null, chunk: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  ref(key: string): FileRef {
    return { key, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

/** Streams a local file to staging; multipart for large files, memory bounded by the part size. */
export async function uploadFile(s3: S3Client, bucket: string, key: string, path: string, contentType?: string): Promise<FileRef> {
  const body = createReadStream(path).pipe(new Digest());
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
    queueSize: 4,
    partSize: 8 * 1024 * 1024,
  }).done();
  return body.ref(key);
}

/** Streams a staged object to a local file and returns its sha256. */
export async function downloadFile(s3: S3Client, bucket: string, key: string, path: string): Promise<FileRef> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const digest = new Digest();
  await pipeline(out.Body as Readable, digest, createWriteStream(path));
  return digest.ref(key);
}

/** Whether a staged object still matches its checkpoint (so a retried step can skip its work). */
export async function stagedMatches(s3: S3Client, bucket: string, ref: FileRef): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: ref.key }));
    return head.ContentLength === ref.bytes;
  } catch {
    return false;
  }
}
