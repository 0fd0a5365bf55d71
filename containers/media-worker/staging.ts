import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { FileRef } from '../../core/job.js';
import { inLanes } from '../../core/lanes.js';
import { backoffMs, retry } from '../../core/retry.js';

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

const PART_BYTES = 8 * 1024 * 1024;
const PART_LANES = 4;
/** Tries of a call with a streamed body, as many as the SDK's own retries give any other call. */
const STREAMED_ATTEMPTS = 3;

/** A failure the SDK's own retries would try again (throttling such as SlowDown, a 5xx, a dropped connection). */
export function isRetryableS3Error(err: unknown): boolean {
  const sdkError = err as Parameters<typeof isTransientError>[0];
  return err instanceof Error && (isThrottlingError(sdkError) || isTransientError(sdkError));
}

/**
 * Sends an S3 call whose body is a stream made by `body` (a file's bytes). A body that cannot be read fails the call
 * with its read error, the request aborted (never an unhandled stream error), and is not tried again; a failure the
 * SDK would retry is tried again with a new stream, which the SDK cannot do itself, its stream being spent. Each
 * try's stream is destroyed when its call ends, so a stream the request left half-read holds no file open.
 */
export function sendStreamed<T>(body: () => Readable, send: (body: Readable, abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const unreadable = new WeakSet<object>();
  const once = async () => {
    const stream = body();
    const abort = new AbortController();
    let readError: Error | undefined;
    stream.once('error', (err) => {
      readError = err;
      abort.abort();
    });
    try {
      return await send(stream, abort.signal);
    } catch (err) {
      if (!readError) throw err;
      unreadable.add(readError);
      throw readError;
    } finally {
      stream.destroy();
    }
  };
  const retryable = (err: unknown) => !(err instanceof Error && unreadable.has(err)) && isRetryableS3Error(err);
  return retry(once, { attempts: STREAMED_ATTEMPTS, retryable, delayMs: (n) => backoffMs(n, 200, 2000) });
}

/** The sha256 of a file, by one streamed read. */
export async function hashFile(path: string): Promise<string> {
  const digest = new Digest();
  await pipeline(createReadStream(path), digest, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return digest.ref('').sha256;
}

/**
 * Streams a local file to staging: one PUT, or a multipart upload whose parts are each read from their own range of
 * the file as they are sent, so nothing is buffered whatever the file's size; the sha256 comes from one more read.
 */
export async function uploadFile(s3: S3Client, bucket: string, key: string, path: string, contentType?: string): Promise<FileRef> {
  const { size } = await stat(path);
  // Each body a stream of its range of the file, made again for every try.
  const range = (start: number, end: number) => () => createReadStream(path, { start, end });
  const send = async () => {
    if (!size) return void (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType, Body: '' })));
    if (size <= PART_BYTES) {
      const put = (Body: Readable, abortSignal: AbortSignal) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType, Body, ContentLength: size }), { abortSignal });
      return void (await sendStreamed(range(0, size - 1), put));
    }
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }));
    const starts = Array.from({ length: Math.ceil(size / PART_BYTES) }, (_, i) => i * PART_BYTES);
    try {
      const parts = await inLanes(starts, PART_LANES, async (start) => {
        const PartNumber = start / PART_BYTES + 1;
        const end = Math.min(size, start + PART_BYTES) - 1;
        const part = (Body: Readable, abortSignal: AbortSignal) =>
          s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body, ContentLength: end - start + 1 }), { abortSignal });
        const { ETag } = await sendStreamed(range(start, end), part);
        return { PartNumber, ETag };
      });
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
      throw err;
    }
  };
  const [sha256] = await Promise.all([hashFile(path), send()]);
  return { key, bytes: size, sha256 };
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
