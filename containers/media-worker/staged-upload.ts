import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { SourceUnavailableError } from '../../core/errors.js';
import { S3_MAX_PARTS, S3_MIN_PART_BYTES } from '../../core/s3-rules.js';
import { downloadFile, isRetryableS3Error, sendStreamed } from './staging.js';
import { PieceFollower } from './piece-follower.js';


/** Bytes `start`..`end` (inclusive) of a local file. A piece of a download is one or more (a segment behind its init section). */
export interface Slice {
  path: string;
  start: number;
  end: number;
}

/** An uploaded part: which pieces of the download it holds, so a later attempt fetches none of them again. */
const PartSchema = z.object({ number: z.number().int(), etag: z.string(), first: z.number().int(), last: z.number().int(), bytes: z.number().int() });
/** `completed`: the ETag of the object Complete made, so a later attempt knows the object is still that one. */
export const StateSchema = z.object({ uploadId: z.string(), pieces: z.number().int(), parts: z.array(PartSchema), completed: z.string().optional() });
type Part = z.infer<typeof PartSchema>;
export type State = z.infer<typeof StateSchema>;

/** A part going up while its piece downloads: its number, the piece's follower, and the ETag S3 gave (undefined: send the piece again). */
interface Followed {
  number: number;
  follower: PieceFollower;
  sent: Promise<string | undefined>;
}

const sliceBytes = (slices: Slice[]) => slices.reduce((n, s) => n + s.end - s.start + 1, 0);

/** What S3 answers when an upload can no longer be completed as its part list says: it is begun afresh. */
const UNUSABLE_UPLOAD = new Set(['NoSuchUpload', 'EntityTooSmall', 'InvalidPart', 'InvalidPartOrder']);

/** The slices read one after another, as one stream. */
function concatenated(slices: Slice[]): Readable {
  return Readable.from(
    (async function* () {
      for (const s of slices) if (s.end >= s.start) yield* createReadStream(s.path, { start: s.start, end: s.end });
    })(),
  );
}

/**
 * A staged object written as one multipart upload while its download runs. The download's pieces (byte ranges,
 * segments) finish in any order; consecutive finished pieces go up, in order, as parts of at least 5 MiB. The part list
 * is kept in staging after every part, so a retried worker uploads and fetches only the pieces no part holds.
 */
export class StagedUpload {
  /** Finished pieces not yet in a part. */
  private readonly finished = new Map<number, Slice[]>();
  /** The first piece not yet in a part, and the part number last given. */
  private cursor = 0;
  private lastNumber = 0;
  private readonly uploads: Array<Promise<void>> = [];
  private failure: { error: unknown } | undefined;
  private saving: Promise<unknown> = Promise.resolve();
  /** The part list was dropped (the upload is gone): nothing writes it again. */
  private dropped = false;
  /** Whether an earlier attempt uploaded some of the pieces (the local file then lacks them). */
  readonly resumed: boolean;
  /** The file's sha256, fed part by part in order as parts form (a read from the page cache, beside the download). */
  private readonly digest = createHash('sha256');
  private hashing: Promise<void> = Promise.resolve();
  private sha256: string | undefined;
  /** The local file `finish` made whole: the one file this upload is the staged copy of. */
  private finishedPath: string | undefined;
  /** Parts going up while their pieces download, by piece. */
  private readonly following = new Map<number, Followed>();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    readonly key: string,
    private readonly stateKey: string,
    private readonly state: State,
  ) {
    this.resumed = state.parts.length > 0;
  }

  /** The part holding piece `index`, if an earlier attempt uploaded it. */
  private partOf(index: number): Part | undefined {
    return this.state.parts.find((p) => p.first <= index && index <= p.last);
  }

  /** Whether piece `index` is already staged (so it is not to be fetched). */
  kept(index: number): boolean {
    return this.partOf(index) !== undefined;
  }

  /** Bytes already staged by earlier attempts. */
  keptBytes(): number {
    return this.state.parts.reduce((n, p) => n + p.bytes, 0);
  }

  /**
   * Piece `index` (one slice, at least a part's 5 MiB unless it is the last, like every piece before it) goes up as
   * part `index + 1` while it downloads: the download reports its bytes to the follower returned. Undefined when the
   * piece is kept already. Whatever happens to that upload, `add` makes sure the part holds the piece.
   */
  follow(index: number, slice: Slice): PieceFollower | undefined {
    if (this.failure || this.dropped || this.kept(index)) return undefined;
    const follower = new PieceFollower(slice);
    const number = index + 1;
    const send = (Body: Readable, abortSignal: AbortSignal) =>
      this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.state.uploadId, PartNumber: number, Body, ContentLength: follower.bytes }), { abortSignal });
    // A failure here is not the step's: the piece, once whole, is sent again from the file.
    const sent = sendStreamed(() => follower.stream(), send).then(
      (out) => out.ETag,
      () => undefined,
    );
    this.following.set(index, { number, follower, sent });
    return follower;
  }

  /** Piece `index` is whole on disk, in these slices: it goes up with its neighbours once they make a part. */
  add(index: number, slices: Slice[]): void {
    // A failed part fails the download now, not once every other piece is fetched.
    if (this.failure) throw this.failure.error;
    this.finished.set(index, slices);
    this.pack();
  }

  /** Starts an upload for every run of finished pieces that can be a part now. */
  private pack(): void {
    while (this.cursor < this.state.pieces) {
      const kept = this.partOf(this.cursor);
      if (kept) {
        this.cursor = kept.last + 1;
        this.lastNumber = kept.number;
        continue;
      }
      const number = this.lastNumber + 1;
      // Part numbers are in byte order: a run before a kept part must fit between its neighbours' numbers.
      const limit = this.state.parts.filter((p) => p.first > this.cursor).reduce((n, p) => Math.min(n, p.number), S3_MAX_PARTS + 1);
      let end = this.cursor;
      let bytes = 0;
      let closable = false;
      while (end < this.state.pieces && this.finished.has(end) && !this.kept(end)) {
        bytes += sliceBytes(this.finished.get(end)!);
        end++;
        if (bytes >= S3_MIN_PART_BYTES && number + 1 < limit) {
          closable = true;
          break;
        }
      }
      // A run that reaches the end or a kept part is a part whatever its size: it is the last, or a whole gap.
      const atBoundary = end === this.state.pieces || this.kept(end);
      if (!closable && !(atBoundary && end > this.cursor)) return;
      const slices = Array.from({ length: end - this.cursor }, (_, i) => this.finished.get(this.cursor + i)!).flat();
      const part = { number, etag: '', first: this.cursor, last: end - 1, bytes };
      const followed = Array.from({ length: end - this.cursor }, (_, i) => this.following.get(this.cursor + i)).filter((f) => f !== undefined);
      for (let i = this.cursor; i < end; i++) this.following.delete(i);
      const [only] = followed;
      if (only && end - this.cursor === 1 && only.number === number) this.uploads.push(this.adopt(part, slices, only));
      // Parts that went up under other numbers end first: a late one must not land over this part.
      else this.uploads.push(Promise.all(followed.map((f) => f.sent)).then(() => this.uploadPart(part, slices)));
      this.hashing = this.hashing
        .then(async () => {
          for await (const chunk of concatenated(slices)) this.digest.update(chunk as Buffer);
        })
        .catch((error: unknown) => void (this.failure ??= { error }));
      for (let i = this.cursor; i < end; i++) this.finished.delete(i);
      this.cursor = end;
      this.lastNumber = number;
    }
  }

  /** A part that went up while its piece downloaded: recorded if S3 took all of it and the download never went back over it. */
  private async adopt(part: Part, slices: Slice[], followed: Followed): Promise<void> {
    const etag = await followed.sent;
    if (etag === undefined || followed.follower.failed) return this.uploadPart(part, slices);
    return this.record(part, async () => etag);
  }

  private uploadPart(part: Part, slices: Slice[]): Promise<void> {
    return this.record(part, async () => {
      const { ETag } = await sendStreamed(
        () => concatenated(slices),
        (Body, abortSignal) =>
          this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.state.uploadId, PartNumber: part.number, Body, ContentLength: part.bytes }), { abortSignal }),
      );
      return ETag!;
    });
  }

  /** Adds the part to the list, once `upload` has put it in S3 (its ETag), and saves the list; a failure fails the upload. */
  private async record(part: Part, upload: () => Promise<string>): Promise<void> {
    try {
      const etag = await upload();
      this.state.parts = [...this.state.parts.filter((p) => p.number !== part.number), { ...part, etag }];
      await this.save();
    } catch (error) {
      this.failure ??= { error: await this.lost(error) };
    }
  }

  /** Writes the part list; writes are queued so the last one holds every part, and one failed write fails only its own caller. */
  save(): Promise<unknown> {
    const body = JSON.stringify(this.state);
    const put = () => this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.stateKey, Body: body, ContentType: 'application/json' }));
    const write = this.saving.catch(() => undefined).then(() => (this.dropped ? undefined : put()));
    this.saving = write;
    return write;
  }

  /**
   * An upload aborted behind the worker's back (by cleanup, or the bucket's lifecycle rule after a long pause) cannot
   * be resumed: its part list is dropped, after any write already queued, and the step fails with a retryable error so
   * that its next attempt starts afresh.
   */
  private async lost(error: unknown): Promise<unknown> {
    const name = (error as Error).name;
    // S3 kept failing (throttling, 5xx) after the tries: the next attempt goes on from the parts already up.
    if (isRetryableS3Error(error)) return new SourceUnavailableError(`staging ${this.key} kept failing (${name}); the next attempt goes on from the parts already up`, { cause: error });
    if (!UNUSABLE_UPLOAD.has(name)) return error;
    this.dropped = true;
    // Parts still going up would land after the abort: they end first (S3 may keep a part in flight past an abort).
    const following = [...this.following.values()];
    for (const { follower } of following) follower.fail(new Error(`the staged upload of ${this.key} is being aborted`));
    await Promise.all(following.map((f) => f.sent));
    const abort = () => this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.state.uploadId })).catch(() => undefined);
    const drop = () => this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.stateKey }));
    await (this.saving = this.saving.catch(() => undefined).then(abort).then(drop)).catch(() => undefined);
    const why = name === 'NoSuchUpload' ? 'was aborted before it was complete' : `cannot be completed (${name}: the source's pieces changed size since an earlier attempt)`;
    return new SourceUnavailableError(`the staged upload of ${this.key} ${why}; the next attempt starts it again`, { cause: error });
  }

  /** Waits for the parts going up: a download that failed still keeps every part it finished, for the next attempt. */
  async settle(): Promise<void> {
    // Parts following pieces that will not finish end with their pieces' failures; none goes on after the step.
    await Promise.all([...this.following.values()].map((f) => f.sent));
    await Promise.all(this.uploads);
    await this.saving.catch(() => undefined);
  }

  /**
   * Uploads what is left and completes the object, once every piece is finished or kept. When an earlier attempt
   * uploaded some pieces, the local file lacks them: it is replaced by the staged object, read back once.
   */
  async finish(localPath: string): Promise<void> {
    if (!this.state.completed) {
      // Every piece may be kept already (an earlier attempt stopped before Complete): nothing else moves the cursor.
      this.pack();
      await Promise.all([...this.uploads, this.hashing]);
      if (this.failure) throw this.failure.error;
      if (this.cursor < this.state.pieces) throw new Error(`staged upload of ${this.key}: piece ${this.cursor} was never finished`);
      const parts = [...this.state.parts].sort((a, b) => a.number - b.number);
      const complete = new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.state.uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
      });
      const { ETag } = await this.s3.send(complete).catch(async (error: unknown) => {
        throw await this.lost(error);
      });
      this.state.completed = ETag!;
      await this.save();
    }
    if (this.resumed) await downloadFile(this.s3, this.bucket, this.key, localPath);
    // Every byte went through the digest, in order, only when this attempt fetched them all.
    else this.sha256 = this.digest.digest('hex');
    this.finishedPath = localPath;
  }

  /** Whether the staged object is complete and is the copy of `path` (as `finish` made it). */
  holds(path: string): boolean {
    return this.state.completed !== undefined && this.finishedPath === path;
  }

  /** The staged file's sha256, when this attempt hashed it on the way. */
  get hashed(): string | undefined {
    return this.sha256;
  }
}
