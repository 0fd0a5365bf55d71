import { createHash, randomBytes } from 'node:crypto';
import { destroyClients } from '../../core/aws.js';
import { type Deps, setUp } from '../../core/component.js';
import { publish } from '../../lambdas/publish/publish.js';
import { type RecordingS3, type S3Request, startRecordingS3 } from '../fixtures/recording-s3.js';

const MiB = 1024 ** 2;
const STAGING = 'staging-bucket';
const ARTIFACTS = 'artifacts-bucket';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let s3: RecordingS3;
const made: Deps[] = [];
const video = randomBytes(13 * MiB + 12_345);
const metadata = Buffer.from(JSON.stringify({ title: 'clip' }));

beforeAll(async () => {
  s3 = await startRecordingS3();
  // Typed as a kept original is staged (untyped): publishing types it for what it is.
  s3.put(STAGING, 'staging/t1/job-1/source.mp4', video, 'binary/octet-stream', { origin: 'merge' });
  s3.put(STAGING, 'staging/t1/job-1/metadata.json', metadata, 'application/json');
});

afterAll(async () => {
  for (const deps of made) destroyClients(deps.clients);
  await s3?.close();
});

beforeEach(() => {
  s3.requests.length = 0;
  s3.failWhen(undefined);
});

const event = {
  tenant: 't1',
  jobId: 'job-1',
  request: { source: { type: 'http', url: 'https://media.example.com/a.mp4' }, actions: ['download', 'transcode'] },
  options: { connections: 4 },
  checkpoints: {
    merge: {
      durationMs: 1,
      bytes: video.length + metadata.length,
      hasAudio: true,
      hasVideo: true,
      durationSeconds: 4,
      files: {
        'source.mp4': { key: 'staging/t1/job-1/source.mp4', bytes: video.length, sha256: sha256(video) },
        'metadata.json': { key: 'staging/t1/job-1/metadata.json', bytes: metadata.length, sha256: sha256(metadata) },
      },
    },
  },
};

/** Publish as its environment would set it up, pointed at the recording S3. */
const configWith = (threshold?: number) => {
  const deps = setUp('publish', {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    STAGING_BUCKET: STAGING,
    ARTIFACTS_BUCKET: ARTIFACTS,
    ...(threshold ? { MEDIA_INGEST_MULTIPART_COPY_THRESHOLD_BYTES: String(threshold) } : {}),
  });
  made.push(deps);
  return deps;
};
const to = (key: string) => (r: S3Request) => r.bucket === ARTIFACTS && r.key === key;

describe('publishing artifacts', () => {
  it('copies an artifact above the threshold by multipart UploadPartCopy, byte for byte, typed for what it is, metadata kept', async () => {
    const checkpoint = await publish(event, configWith(6 * MiB));
    const key = 'tenants/t1/jobs/job-1/source.mp4';
    const ops = s3.requests.filter(to(key)).map((r) => r.operation);
    expect(ops[0]).toBe('CreateMultipartUpload');
    expect(ops.at(-1)).toBe('CompleteMultipartUpload');
    expect(ops).not.toContain('CopyObject');
    const parts = s3.requests.filter((r) => r.operation === 'UploadPartCopy').sort((a, b) => a.partNumber! - b.partNumber!);
    expect(parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(parts.every((p) => p.copySource === `${STAGING}/staging/t1/job-1/source.mp4`)).toBe(true);
    // The ranges cover the object exactly: from 0, contiguous, no overlap, to the last byte.
    let next = 0;
    for (const part of parts) {
      const [, first, last] = /^bytes=(\d+)-(\d+)$/.exec(part.range!)!.map(Number);
      expect(first).toBe(next);
      expect(last! - first! + 1).toBeGreaterThanOrEqual(part === parts.at(-1) ? 1 : 5 * MiB);
      next = last! + 1;
    }
    expect(next).toBe(video.length);

    const copied = s3.get(ARTIFACTS, key)!;
    expect(sha256(copied.body)).toBe(sha256(video));
    expect(copied.contentType).toBe('video/mp4');
    expect(copied.metadata).toEqual({ origin: 'merge' });
    expect(s3.uploads()).toBe(0);
    expect(checkpoint.artifacts.find((a) => a.name === 'source.mp4')).toMatchObject({ key, bytes: video.length, sha256: sha256(video) });
    // The small artifact still goes by one CopyObject.
    expect(s3.requests.filter(to('tenants/t1/jobs/job-1/metadata.json')).map((r) => r.operation)).toEqual(['CopyObject']);
  });

  it('copies every artifact at or below the threshold with one CopyObject', async () => {
    await publish(event, configWith());
    const copies = s3.requests.filter((r) => r.bucket === ARTIFACTS && r.operation !== 'PutObject');
    expect(copies.map((r) => [r.operation, r.key])).toEqual([
      ['CopyObject', 'tenants/t1/jobs/job-1/source.mp4'],
      ['CopyObject', 'tenants/t1/jobs/job-1/metadata.json'],
    ]);
    const copied = s3.get(ARTIFACTS, 'tenants/t1/jobs/job-1/source.mp4')!;
    expect(sha256(copied.body)).toBe(sha256(video));
    expect(copied).toMatchObject({ contentType: 'video/mp4', metadata: { origin: 'merge' } });
    expect(s3.get(ARTIFACTS, 'tenants/t1/jobs/job-1/metadata.json')!.contentType).toBe('application/json');
  });

  it('aborts the multipart upload when a part fails, after the parts in flight have settled', async () => {
    const key = 'tenants/other/jobs/job-1/source.mp4';
    s3.failWhen((r) => r.operation === 'UploadPartCopy' && r.partNumber === 2);
    await expect(publish({ ...event, tenant: 'other' }, configWith(6 * MiB))).rejects.toMatchObject({ name: 'AccessDenied' });
    const ops = s3.requests.filter(to(key)).map((r) => r.operation);
    expect(ops.at(-1)).toBe('AbortMultipartUpload');
    expect(ops).not.toContain('CompleteMultipartUpload');
    expect(s3.uploads()).toBe(0);
    expect(s3.get(ARTIFACTS, key)).toBeUndefined();
  });
});
