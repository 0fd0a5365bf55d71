import { CompleteMultipartUploadCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Deps } from '../../core/component.js';
import { InvalidRequestError, UploadNotFoundError } from '../../core/errors.js';
import { parseInput } from '../../core/input.js';
import { uploadPrefix } from '../../core/storage.js';
import { CompleteUploadSchema, UPLOAD_RECORD_PREFIX, type UploadRecord } from '../../core/uploads.js';

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The record POST /uploads left beside the tenant's upload `id`; UploadNotFound for another tenant's or none. */
async function uploadRecord(id: string, tenant: string, { config, clients }: Deps): Promise<UploadRecord> {
  if (!UPLOAD_ID.test(id)) throw new UploadNotFoundError(`no upload ${id}`);
  const Bucket = config.STAGING_BUCKET;
  const folder = `${uploadPrefix(tenant)}${id}/`;
  const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket, Prefix: `${folder}${UPLOAD_RECORD_PREFIX}`, MaxKeys: 1 }));
  const key = listed.Contents?.[0]?.Key;
  if (!key) throw new UploadNotFoundError(`no upload ${id}`);
  const out = await clients.s3.send(new GetObjectCommand({ Bucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString()) as UploadRecord;
}

/**
 * `POST /uploads/{id}/complete`: joins a multipart upload's parts into its object. Every part must be there, each of
 * the size its URL was signed for, so the object is exactly the declared size.
 */
export async function completeUpload(tenant: string, id: string, body: unknown, deps: Deps) {
  const request = parseInput(CompleteUploadSchema, body);
  const record = await uploadRecord(id, tenant, deps);
  if (!record.multipart) throw new InvalidRequestError(`upload ${id} is a single PUT: there is nothing to complete`);
  const numbers = request.parts.map((p) => p.part_number).sort((a, b) => a - b);
  if (numbers.length !== record.multipart.parts || numbers.some((n, i) => n !== i + 1)) {
    throw new InvalidRequestError(`parts: upload ${id} has parts 1 to ${record.multipart.parts}, each named once`);
  }
  try {
    await deps.clients.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: deps.config.STAGING_BUCKET,
        Key: record.key,
        UploadId: record.multipart.uploadId,
        MultipartUpload: { Parts: [...request.parts].sort((a, b) => a.part_number - b.part_number).map((p) => ({ PartNumber: p.part_number, ETag: p.etag })) },
      }),
    );
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'NoSuchUpload') throw new UploadNotFoundError(`upload ${id} was completed or aborted already`, { cause: err });
    if (name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall') {
      throw new InvalidRequestError(`parts: S3 refused them (${name}): ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
  return { id, key: record.key, size: record.size, source: { type: 'upload' as const, url: record.key } };
}
