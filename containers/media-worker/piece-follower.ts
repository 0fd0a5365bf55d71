import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** The most read from the file at once. */
const READ_BYTES = 1024 * 1024;

/**
 * The bytes of one piece of a download as they are written, read back from the file in order: the body of an upload
 * part that goes up while its piece downloads. The download reports what it wrote (`wrote`); a failure, or a rewind
 * (bytes written again: an answer that was not the range asked), ends every reader with an error, so the part is
 * never completed with bytes that are not the piece's.
 */
export class PieceFollower {
  private written = 0;
  private failure: Error | undefined;
  private readonly waiting = new Set<() => void>();

  /** Bytes `start`..`end` (inclusive) of the file at `path` (a staged upload's Slice). */
  constructor(private readonly slice: { path: string; start: number; end: number }) {}

  /** Whether the download failed or went back over bytes: what a reader sent may not be the piece. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  get bytes(): number {
    return this.slice.end - this.slice.start + 1;
  }

  /** `n` more bytes of the piece are in the file (negative: the download went back over bytes it had written). */
  wrote(n: number): void {
    if (n < 0) this.fail(new Error('the piece was rewritten after its first bytes went up'));
    this.written += n;
    this.wakeAll();
  }

  /** The piece's download failed: every reader ends with `error`. */
  fail(error: Error): void {
    this.failure ??= error;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  /**
   * A reader from the piece's first byte: what is written now at once, the rest as it comes. Destroyed (its request
   * ended), it closes its file at once, even while it waits for bytes.
   */
  stream(): Readable {
    const { path, start } = this.slice;
    let at = 0;
    let file: FileHandle | undefined;
    const pump = async (): Promise<void> => {
      try {
        if (readable.destroyed) return;
        if (this.failure) throw this.failure;
        if (at >= this.bytes) return void readable.push(null);
        if (this.written <= at) return void this.waiting.add(() => void pump());
        if (!file) {
          file = await open(path, 'r');
          if (readable.destroyed) return void (await file.close());
          // Anything may have happened while the file opened: from the top.
          return await pump();
        }
        const chunk = Buffer.allocUnsafe(Math.min(this.written - at, READ_BYTES));
        const { bytesRead } = await file.read(chunk, 0, chunk.length, start + at);
        if (bytesRead === 0) throw new Error(`${path} ends before byte ${start + at}`);
        at += bytesRead;
        readable.push(chunk.subarray(0, bytesRead));
      } catch (error) {
        readable.destroy(error as Error);
      }
    };
    const readable = new Readable({
      read: () => void pump(),
      destroy: (error, done) => void (file?.close() ?? Promise.resolve()).then(() => done(error), () => done(error)),
    });
    return readable;
  }
}
