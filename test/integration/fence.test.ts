import { CreateMultipartUploadCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { StagingFence } from '../../containers/media-worker/fence.js';
import { type RecordingS3, startRecordingS3 } from '../fixtures/recording-s3.js';
import { withScratch } from '../fixtures/runtime.js';

const BUCKET = 'staging';
const PREFIX = 'staging/local/fenced-job/';
let s3: RecordingS3;

withScratch('fence', {
  setup: async ({ atEnd }) => {
    s3 = await startRecordingS3();
    atEnd(() => s3.close());
  },
});

/** A client of its own, as the worker has: the fence sits in its middleware. */
const workerS3 = () =>
  new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestChecksumCalculation: 'WHEN_REQUIRED' });

describe('the staging fence of a cancelled job', () => {
  it('refuses later writes under the prefix, aborts the upload its part list names and empties the prefix', async () => {
    const client = workerS3();
    const fence = new StagingFence(client, BUCKET);
    fence.open(PREFIX);
    // What a step has staged when its cancel comes: an upload with a part, and the part list naming it.
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${PREFIX}original` }));
    await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: `${PREFIX}original`, UploadId, PartNumber: 1, Body: Buffer.alloc(1024) }));
    const list = { uploadId: UploadId, pieces: 2, parts: [{ number: 1, first: 0, last: 0, bytes: 1024, etag: '"x"' }] };
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}parts/original/v.json`, Body: JSON.stringify(list) }));
    expect(s3.uploads()).toBe(1);

    await fence.close(PREFIX);

    expect(s3.uploads()).toBe(0);
    expect((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX }))).KeyCount ?? 0).toBe(0);
    // Whatever the step still does, nothing more lands under the job's prefix.
    await expect(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}parts/original/v.json`, Body: '{}' }))).rejects.toMatchObject({ name: 'Cancelled' });
    await expect(client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${PREFIX}original` }))).rejects.toMatchObject({ name: 'Cancelled' });
    expect(s3.get(BUCKET, `${PREFIX}parts/original/v.json`)).toBeUndefined();
    // Another job's staging is not fenced.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'staging/local/other-job/x', Body: 'x' }));
    expect(s3.get(BUCKET, 'staging/local/other-job/x')).toBeDefined();
  });
});
