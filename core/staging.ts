import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Deletes every object under a staging prefix; returns what went, for the audit trail. */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }));
    for (const object of page.Contents ?? []) {
      // One by one: a job leaves a handful of objects, and single deletes need no Content-MD5 anywhere.
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
      objects++;
      bytes += object.Size ?? 0;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { objects, bytes };
}
