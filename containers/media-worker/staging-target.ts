import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { FileRef } from '../../core/job.js';
import { StagedUpload, type State, StateSchema } from './staged-upload.js';
import { hashFile, uploadFile } from './staging.js';

/**
 * Where one downloaded file is staged: by a multipart upload its download feeds (`open`), or, when the download could
 * not feed one (one stream, segments that ffmpeg joins), uploaded whole once it is validated.
 */
export class StagingTarget {
  private upload: StagedUpload | undefined;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    readonly key: string,
    /** Where the part lists are kept: one per version of the source, `<folder><version>.json`. */
    private readonly folder: string,
  ) {}

  /** A new download into this target begins: the upload an earlier one finished is no longer its file's copy. */
  forget(): void {
    this.upload = undefined;
  }

  /**
   * The upload for this version of the source (an ETag and size, a playlist's segments) cut into `pieces`: resumed if
   * an earlier attempt began it with the same pieces, else begun afresh. Another version's upload is aborted.
   */
  async open(version: string, pieces: number): Promise<StagedUpload> {
    const stateKey = `${this.folder}${createHash('sha256').update(version).digest('hex').slice(0, 16)}.json`;
    let state: State | undefined;
    for (const key of await this.stateKeys()) {
      const found = await this.readState(key);
      if (key === stateKey && found?.pieces === pieces && (await this.stillThere(found))) {
        state = found;
        continue;
      }
      if (found && !found.completed) await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: found.uploadId })).catch(() => undefined);
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    }
    const fresh = !state;
    if (!state) {
      const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key }));
      state = { uploadId: UploadId!, pieces, parts: [] };
    }
    this.upload = new StagedUpload(this.s3, this.bucket, this.key, stateKey, state);
    // Listed at once: an attempt that dies before its first part leaves no upload that nothing can find.
    if (fresh) await this.upload.save();
    return this.upload;
  }

  /**
   * Whether what a part list describes is still in S3: its upload, which S3 forgets once completed or aborted (by
   * the bucket's lifecycle rule after a long pause), or the object it completed, which a later upload may replace.
   */
  private async stillThere(state: State): Promise<boolean> {
    if (state.completed === undefined) {
      const forgotten = (error: unknown) => {
        if ((error as Error).name === 'NoSuchUpload') return false;
        throw error;
      };
      return this.s3.send(new ListPartsCommand({ Bucket: this.bucket, Key: this.key, UploadId: state.uploadId, MaxParts: 1 })).then(() => true, forgotten);
    }
    // HEAD answers have no body, only a status: a missing object is 404, or 403 to a role listing only some prefixes.
    const missing = (error: unknown) => {
      if ([403, 404].includes((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0)) return false;
      throw error;
    };
    return this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key })).then((head) => head.ETag === state.completed, missing);
  }

  private async stateKeys(): Promise<string[]> {
    const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.folder }));
    return (page.Contents ?? []).map((o) => o.Key!);
  }

  private async readState(key: string): Promise<State | undefined> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const text = await out.Body!.transformToString();
    // A list that cannot be read is no list: the upload starts afresh.
    try {
      const parsed = StateSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** The staged file's reference once `path` is validated: staged already if its download fed the upload, else uploaded now. */
  async ref(path: string, contentType?: string): Promise<FileRef> {
    if (!this.upload?.holds(path)) return uploadFile(this.s3, this.bucket, this.key, path, contentType);
    const [sha256, { size }] = await Promise.all([this.upload.hashed ?? hashFile(path), stat(path)]);
    return { key: this.key, bytes: size, sha256 };
  }
}
