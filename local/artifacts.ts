import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { JobRecord } from '../core/job.js';
import { uploadPrefix } from '../core/storage.js';

/** Puts a local file under the tenant's upload prefix, as a caller's upload would be; returns its key. */
export async function uploadFile(s3: S3Client, bucket: string, tenant: string, path: string): Promise<string> {
  const name = basename(path).replace(/[^A-Za-z0-9._-]/g, '_').slice(-100) || 'upload';
  const key = `${uploadPrefix(tenant)}${randomUUID()}/${name}`;
  await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: createReadStream(path) } }).done();
  return key;
}

/** Copies a job's artifacts into `dir`, under their artifact names. */
export async function downloadArtifacts(s3: S3Client, record: JobRecord, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const artifact of record.artifacts) {
    const out = await s3.send(new GetObjectCommand({ Bucket: artifact.bucket, Key: artifact.key }));
    const path = join(dir, artifact.name);
    await pipeline(out.Body as Readable, createWriteStream(path));
    written.push(path);
  }
  return written;
}
