import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { logger } from './logger.js';
import { S3_MAX_PARTS, S3_MIN_PART_BYTES } from './s3-rules.js';

// Hand-written: @aws-sdk/lib-storage uploads a body in parts but has no multipart *copy* (UploadPartCopy).

/** S3's limits on a multipart upload: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000. */
/** Large enough that a 10 GiB source is 20 requests, small enough that one part copies well within a Lambda's time. */
const PART_BYTES = 512 * 1024 ** 2;
/** Parts copied at once: S3 does the work, so a few requests in flight suffice. */
const PARALLEL_PARTS = 4;

export interface CopyRequest {
  source: { bucket: string; key: string; head: HeadObjectCommandOutput };
  target: { bucket: string; key: string };
  /** Above this many bytes the object is copied in parts; at most 5 GiB, S3's single-copy limit. */
  thresholdBytes: number;
  /** The copy's content type, in place of the source's. */
  contentType?: string;
}

/** The byte ranges (inclusive ends, as `x-amz-copy-source-range` takes them) a multipart copy of `size` bytes uses. */
export function partRanges(size: number, thresholdBytes: number): Array<[number, number]> {
  const part = Math.max(S3_MIN_PART_BYTES, Math.min(thresholdBytes, PART_BYTES), Math.ceil(size / S3_MAX_PARTS));
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < size; start += part) ranges.push([start, Math.min(start + part, size) - 1]);
  return ranges;
}

/** Copies one object server-side: one CopyObject up to the threshold, a multipart UploadPartCopy above it. */
export async function copyObject(s3: S3Client, { source, target, thresholdBytes, contentType }: CopyRequest): Promise<'single' | 'multipart'> {
  const copySource = `${source.bucket}/${encodeURIComponent(source.key).replace(/%2F/g, '/')}`;
  const size = source.head.ContentLength ?? 0;
  if (size <= thresholdBytes) {
    // The default MetadataDirective COPY keeps the content type and user metadata; a new type replaces them.
    const replace = contentType ? { MetadataDirective: 'REPLACE' as const, ContentType: contentType, Metadata: source.head.Metadata } : {};
    await s3.send(new CopyObjectCommand({ Bucket: target.bucket, Key: target.key, CopySource: copySource, ...replace }));
    return 'single';
  }
  const { head } = source;
  // A multipart upload starts empty: carry over what CopyObject would have copied.
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: target.bucket,
      Key: target.key,
      ContentType: contentType ?? head.ContentType,
      ContentEncoding: head.ContentEncoding,
      ContentDisposition: head.ContentDisposition,
      ContentLanguage: head.ContentLanguage,
      CacheControl: head.CacheControl,
      Metadata: head.Metadata,
    }),
  );
  const ranges = partRanges(size, thresholdBytes);
  const parts: CompletedPart[] = [];
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < ranges.length) {
      const index = next++;
      const [first, last] = ranges[index]!;
      try {
        const out = await s3.send(
          new UploadPartCopyCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId,
            PartNumber: index + 1,
            CopySource: copySource,
            CopySourceRange: `bytes=${first}-${last}`,
            // Every part from the same version of the source, or none.
            CopySourceIfMatch: head.ETag,
          }),
        );
        parts[index] = { PartNumber: index + 1, ETag: out.CopyPartResult?.ETag };
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  try {
    // allSettled: no part may still be in flight when the upload is aborted.
    const results = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL_PARTS, ranges.length) }, worker));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId, MultipartUpload: { Parts: parts } }),
    );
  } catch (err) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId })).catch((abortErr: unknown) => {
      // The bucket's lifecycle rule aborts what is left; the copy's own error is the one to report.
      logger.warn('could not abort a multipart copy', { key: target.key, error: abortErr as Error });
    });
    throw err;
  }
  return 'multipart';
}
