import { GetObjectCommand, NoSuchKey, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { InvalidRequestError, SourceNotFoundError } from './errors.js';
import { uploadPrefix } from './storage.js';

/** `POST /uploads`: what the caller may say of the file it is about to upload (the key is never the caller's). */
export const UploadRequestSchema = z.strictObject({
  filename: z.string().min(1).max(255).optional(),
  content_type: z.string().max(255).regex(/^[\w.+-]+\/[\w.+-]+$/, 'a MIME type such as video/mp4').optional(),
  /** The file's exact size in bytes: S3 takes no other (the signed Content-Length of the PUT, or of each part). */
  size: z.number().int().positive(),
});

/** Most parts an upload is cut into: its ticket and its complete call stay small. */
export const MAX_UPLOAD_PARTS = 1000;

/** `POST /uploads/{id}/complete`: the ETag S3 answered for each part. */
export const CompleteUploadSchema = z.strictObject({
  parts: z
    .array(z.strictObject({ part_number: z.number().int().min(1).max(MAX_UPLOAD_PARTS), etag: z.string().min(1).max(200) }))
    .min(1)
    .max(MAX_UPLOAD_PARTS),
});

/** Part sizes of a multipart upload: `threshold` bytes each, or more so there are at most 1,000; the last takes the rest. */
export function partSizes(size: number, threshold: number): number[] {
  const part = Math.max(threshold, Math.ceil(size / MAX_UPLOAD_PARTS));
  return Array.from({ length: Math.ceil(size / part) }, (_, i) => Math.min(part, size - i * part));
}

/** What POST /uploads records beside the upload, for the quota and the complete call. */
export interface UploadRecord {
  key: string;
  size: number;
  /** S3's multipart upload id and its part count, when the file goes up in parts. */
  multipart?: { uploadId: string; parts: number };
}

/** How an upload's record is named in its folder (CDK grants complete-upload the reading of these alone). */
export const UPLOAD_RECORD_PREFIX = '.ticket-';
const RECORD_NAME = /\/\.ticket-(\d+)\.json$/;

/** The record's key in the upload's folder; it names the declared size so the quota needs only a listing. */
export function uploadRecordKey(folder: string, size: number): string {
  return `${folder}${UPLOAD_RECORD_PREFIX}${size}.json`;
}

/** The declared size a record's key names, or undefined for any other key. */
export function declaredSize(key: string): number | undefined {
  const match = RECORD_NAME.exec(key);
  return match ? Number(match[1]) : undefined;
}

/**
 * The object an upload source names: `s3://<staging bucket>/<key>` or the key itself, which must lie under the
 * tenant's upload prefix — a tenant can never ingest another's object.
 */
export function resolveUpload(url: string, bucket: string, tenant: string): { bucket: string; key: string } {
  let key = url;
  if (url.startsWith('s3://')) {
    const [named, ...rest] = url.slice('s3://'.length).split('/');
    if (named !== bucket) throw new InvalidRequestError(`source.url: uploads are read from the staging bucket, not ${named}`);
    key = rest.join('/');
  }
  const own = uploadPrefix(tenant);
  const segments = key.split('/');
  if (!key.startsWith(own) || key.length === own.length || segments.some((s) => s === '.' || s === '..' || s === '')) {
    throw new InvalidRequestError(`source.url: an upload must be an object under ${own}`);
  }
  return { bucket, key };
}

/** The first bytes of an uploaded object, its size and type; SourceNotFound when it is not there. */
export async function uploadHead(s3: S3Client, bucket: string, key: string, bytes: number): Promise<{ head: Uint8Array; size: number; contentType: string | null }> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${bytes - 1}` }));
    const head = await out.Body!.transformToByteArray();
    const size = Number(/\/(\d+)$/.exec(out.ContentRange ?? '')?.[1] ?? out.ContentLength ?? head.length);
    return { head, size, contentType: out.ContentType ?? null };
  } catch (err) {
    if (err instanceof NoSuchKey || err instanceof NotFound || (err as { name?: string }).name === 'NoSuchKey') {
      throw new SourceNotFoundError(`no uploaded object at ${key}`);
    }
    if ((err as { name?: string }).name === 'InvalidRange') return { head: new Uint8Array(), size: 0, contentType: null };
    throw err;
  }
}
