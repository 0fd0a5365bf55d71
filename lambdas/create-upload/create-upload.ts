import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../core/component.js';
import { parseInput } from '../../core/input.js';
import { uploadPrefix } from '../../core/storage.js';
import { UploadRequestSchema } from '../../core/uploads.js';

/** How long the upload URL is valid. */
export const UPLOAD_URL_SECONDS = 15 * 60;

export interface UploadTicket {
  key: string;
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
  /** What to send as `source` in `POST /jobs` once the object is uploaded. */
  source: { type: 'upload'; url: string };
}

/** A place under the tenant's upload prefix and a presigned PUT URL for it; the key never comes from the caller. */
export async function createUpload(tenant: string, body: unknown, { config, clients }: Deps): Promise<UploadTicket> {
  const ticket = parseInput(UploadRequestSchema, body);
  // The caller's file name is kept only as a sanitised last segment, for people reading the bucket.
  const name = (ticket.filename ?? 'upload').split(/[/\\]/).pop()!.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(-100) || 'upload';
  const key = `${uploadPrefix(tenant)}${randomUUID()}/${name}`;
  const contentType = ticket.content_type ?? 'application/octet-stream';
  const command = new PutObjectCommand({ Bucket: config.STAGING_BUCKET, Key: key, ContentType: contentType });
  const url = await getSignedUrl(clients.s3, command, { expiresIn: UPLOAD_URL_SECONDS });
  return {
    key,
    method: 'PUT',
    url,
    headers: { 'content-type': contentType },
    expiresAt: new Date(Date.now() + UPLOAD_URL_SECONDS * 1000).toISOString(),
    source: { type: 'upload', url: key },
  };
}
