import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { deletePrefix } from '../../core/staging.js';

/** Where finished parts of a download are kept, so a new attempt restores them instead of fetching them again. */
export interface PartStore {
  /** Sizes of the parts already kept, by index. */
  list(): Promise<Map<number, number>>;
  save(index: number, path: string, start: number, end: number): Promise<void>;
  restore(index: number, file: FileHandle, offset: number): Promise<number>;
  clear(): Promise<void>;
}

const name = (index: number) => String(index).padStart(6, '0');

/** Parts as staging objects `<prefix><index>`: a PUT is atomic, so an object that exists is a whole part. */
export function stagingParts(s3: S3Client, bucket: string, prefix: string): PartStore {
  return {
    async list() {
      const found = new Map<number, number>();
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) found.set(Number(o.Key!.slice(prefix.length)), o.Size ?? 0);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return found;
    },
    async save(index, path, start, end) {
      // Buffered 5 MiB at a time, one request at a time (every lane saves its own): an object appears only once whole.
      const params = { Bucket: bucket, Key: prefix + name(index), Body: createReadStream(path, { start, end }) };
      await new Upload({ client: s3, params, queueSize: 1 }).done();
    },
    async restore(index, file, offset) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + name(index) }));
      let at = offset;
      for await (const chunk of out.Body as Readable) {
        await file.write(chunk as Buffer, 0, (chunk as Buffer).length, at);
        at += (chunk as Buffer).length;
      }
      return at - offset;
    },
    clear: () => deletePrefix(s3, bucket, prefix).then(() => undefined),
  };
}
