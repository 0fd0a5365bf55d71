import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Deps } from '../../core/component.js';
import { PublishFailedError } from '../../core/errors.js';
import {
  type Artifact,
  ExecutionInputSchema,
  type FileRef,
  MergeCheckpointSchema,
  type PublishCheckpoint,
  TranscribeCheckpointSchema,
} from '../../core/job.js';
import { parseInput } from '../../core/input.js';
import { ARTIFACT_NAMES, ARTIFACT_TYPES, artifactsPrefix } from '../../core/storage.js';
import { copyObject } from '../../core/s3-copy.js';

/** The staged files the earlier steps produced, by artifact name. */
function stagedFiles(checkpoints: Record<string, unknown>): Record<string, FileRef> {
  const files = { ...parseInput(MergeCheckpointSchema, checkpoints.merge, 'checkpoints.merge').files };
  if (checkpoints.transcribe !== undefined) {
    Object.assign(files, parseInput(TranscribeCheckpointSchema, checkpoints.transcribe, 'checkpoints.transcribe').files);
  }
  return files;
}

/** Copies the artifacts from staging to the job's destination; manifest.json is written last, so it marks completeness. */
export async function publish(event: unknown, { config, clients }: Deps): Promise<PublishCheckpoint> {
  const started = Date.now();
  const { tenant, jobId, request, checkpoints } = parseInput(ExecutionInputSchema, event);
  const stagingBucket = config.STAGING_BUCKET;
  const bucket = config.ARTIFACTS_BUCKET;
  const prefix = artifactsPrefix(tenant, jobId, request.storage_path);
  const { s3 } = clients;

  const artifacts: Artifact[] = [];
  for (const [name, file] of Object.entries(stagedFiles(checkpoints))) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: stagingBucket, Key: file.key })).catch((err: Error) => {
      throw new PublishFailedError(`staged ${name} is missing: ${err.name}`, { cause: err });
    });
    if (head.ContentLength !== file.bytes) {
      throw new PublishFailedError(`staged ${name} is ${head.ContentLength} bytes, its checkpoint says ${file.bytes}`);
    }
    const key = prefix + name;
    await copyObject(s3, {
      source: { bucket: stagingBucket, key: file.key, head },
      target: { bucket, key },
      thresholdBytes: config.MEDIA_INGEST_MULTIPART_COPY_THRESHOLD_BYTES,
      // A kept original is staged under its own name and type: the artifact is typed for what it is.
      contentType: ARTIFACT_TYPES[name as keyof typeof ARTIFACT_TYPES],
    });
    artifacts.push({ name, bucket, key, bytes: file.bytes, sha256: file.sha256 });
  }

  const manifest = Buffer.from(
    JSON.stringify(
      { version: 1, tenant, jobId, source: { url: request.source.url, type: request.source.type }, actions: request.actions, artifacts },
      null,
      2,
    ),
  );
  const manifestKey = prefix + ARTIFACT_NAMES.manifest;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: manifest, ContentType: ARTIFACT_TYPES[ARTIFACT_NAMES.manifest] }));
  artifacts.push({
    name: ARTIFACT_NAMES.manifest,
    bucket,
    key: manifestKey,
    bytes: manifest.length,
    sha256: createHash('sha256').update(manifest).digest('hex'),
  });
  return { bucket, prefix, artifacts, bytes: artifacts.reduce((n, a) => n + a.bytes, 0), durationMs: Date.now() - started };
}
