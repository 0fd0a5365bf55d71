import { GetObjectCommand, NoSuchKey, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { InvalidRequestError, SourceNotFoundError } from './errors.js';
import { uploadPrefix } from './storage.js';

/** `POST /uploads`: what the caller may say of the file it is about to upload (the key is never the caller's). */
export const UploadRequestSchema = z.strictObject({
  filename: z.string().min(1).max(255).optional(),
  content_type: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'a MIME type such as video/mp4').optional(),
});

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
