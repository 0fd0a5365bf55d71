import { CreateMultipartUploadCommand, ListObjectsV2Command, PutObjectCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../core/component.js';
import { QuotaExceededError } from '../../core/errors.js';
import { parseInput } from '../../core/input.js';
import { checkBytes } from '../../core/limits.js';
import { uploadPrefix } from '../../core/storage.js';
import { declaredSize, partSizes, type UploadRecord, uploadRecordKey, UploadRequestSchema } from '../../core/uploads.js';

/** How long a single PUT URL is valid. */
export const UPLOAD_URL_SECONDS = 15 * 60;
/** How long part URLs are valid: a file of several GiB takes a while (and no longer than the signer's credentials). */
export const PART_URL_SECONDS = 60 * 60;

interface TicketBase {
  /** The upload's id: `POST /uploads/{id}/complete` ends a multipart upload. */
  id: string;
  key: string;
  /** The declared size: S3 refuses a body of any other. */
  size: number;
  method: 'PUT';
  expiresAt: string;
  /** What to send as `source` in `POST /jobs` once the object is uploaded. */
  source: { type: 'upload'; url: string };
}

export type UploadTicket =
  | (TicketBase & { url: string; headers: Record<string, string> })
  | (TicketBase & { parts: Array<{ part_number: number; bytes: number; url: string }>; complete: { method: 'POST'; path: string } });

/** Bytes the tenant's unexpired uploads declared (each upload's record names its size). */
async function declaredBytes(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) total += declaredSize(object.Key ?? '') ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return total;
}

/**
 * A place under the tenant's upload prefix and presigned URLs that take exactly the declared size: one PUT, or above
 * the multipart threshold one PUT per part. The key never comes from the caller; the size counts against the quota.
 */
export async function createUpload(tenant: string, body: unknown, { config, clients }: Deps): Promise<UploadTicket> {
  const request = parseInput(UploadRequestSchema, body);
  const { size } = request;
  checkBytes(config, size, 'size: the declared size is');
  const bucket = config.STAGING_BUCKET;
  const prefix = uploadPrefix(tenant);
  const quota = config.MEDIA_INGEST_UPLOAD_QUOTA_BYTES;
  const used = await declaredBytes(clients.s3, bucket, prefix);
  if (used + size > quota) {
    throw new QuotaExceededError(`uploads of the last days declared ${used} bytes; ${size} more would pass the tenant's quota of ${quota}`);
  }
  // The caller's file name is kept only as a sanitised last segment, for people reading the bucket.
  const name = (request.filename ?? 'upload').split(/[/\\]/).pop()!.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(-100) || 'upload';
  const id = randomUUID();
  const folder = `${prefix}${id}/`;
  const key = `${folder}${name}`;
  const contentType = request.content_type ?? 'application/octet-stream';
  const base = { id, key, size, method: 'PUT' as const, source: { type: 'upload' as const, url: key } };
  const record: UploadRecord = { key, size };
  let ticket: UploadTicket;
  if (size <= config.MEDIA_INGEST_MULTIPART_UPLOAD_THRESHOLD_BYTES) {
    const url = await getSignedUrl(clients.s3, new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType, ContentLength: size }), { expiresIn: UPLOAD_URL_SECONDS });
    ticket = { ...base, url, headers: { 'content-type': contentType, 'content-length': String(size) }, expiresAt: expiry(UPLOAD_URL_SECONDS) };
  } else {
    const { UploadId } = await clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }));
    const sizes = partSizes(size, config.MEDIA_INGEST_MULTIPART_UPLOAD_THRESHOLD_BYTES);
    const parts = await Promise.all(
      sizes.map(async (bytes, i) => {
        const command = new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, ContentLength: bytes });
        return { part_number: i + 1, bytes, url: await getSignedUrl(clients.s3, command, { expiresIn: PART_URL_SECONDS }) };
      }),
    );
    record.multipart = { uploadId: UploadId!, parts: sizes.length };
    ticket = { ...base, parts, complete: { method: 'POST', path: `/uploads/${id}/complete` }, expiresAt: expiry(PART_URL_SECONDS) };
  }
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: uploadRecordKey(folder, size), Body: JSON.stringify(record), ContentType: 'application/json' }));
  return ticket;
}

function expiry(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}
