import { AbortMultipartUploadCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { CancelledError } from '../../core/errors.js';
import { logger } from '../../core/logger.js';
import { deletePrefix } from '../../core/staging.js';
import { StateSchema } from './staged-upload.js';

/** Commands that only read or remove: a fenced job's clean-up needs them, and they leave nothing behind. */
const CLEANING = new Set([
  'ListObjectsV2Command',
  'GetObjectCommand',
  'HeadObjectCommand',
  'DeleteObjectCommand',
  'DeleteObjectsCommand',
  'AbortMultipartUploadCommand',
  'ListPartsCommand',
]);

/** How long the fence waits for writes already sent before it cleans: S3 may keep a request in flight past a cancel. */
const SETTLE_MS = 5_000;

/** A part list that is not JSON names no upload. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Staging writes of a cancelled job stop at one place, the worker's S3 client: once `close` is called for a job's
 * staging prefix, any write under it (a part, a part list, a new multipart upload) is refused, the writes already sent
 * are waited for, then the job's uploads are aborted and its prefix emptied. So nothing the step does after its cancel
 * outlives it, whatever it was doing when the cancel came.
 */
export class StagingFence {
  private readonly closed = new Set<string>();
  private readonly inFlight = new Map<string, Set<Promise<unknown>>>();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        if ([...this.closed].some((p) => key.startsWith(p)) && !CLEANING.has(context.commandName ?? '')) {
          throw new CancelledError(`the job was cancelled: ${context.commandName} of ${key} refused`);
        }
        const watched = this.watch(key);
        const sent = next(args);
        watched?.add(sent);
        return sent.finally(() => watched?.delete(sent));
      },
      { step: 'initialize', name: 'mediaIngestStagingFence' },
    );
  }

  /** Every job's prefix is watched while a step of it runs, so a close knows the writes already sent. */
  open(prefix: string): void {
    this.inFlight.set(prefix, new Set());
  }

  /** The step ended: its writes are no longer watched (a closed prefix stays closed). */
  done(prefix: string): void {
    this.inFlight.delete(prefix);
  }

  private watch(key: string): Set<Promise<unknown>> | undefined {
    for (const [prefix, requests] of this.inFlight) if (key.startsWith(prefix)) return requests;
    return undefined;
  }

  /** Refuses every later write under `prefix`, waits for those sent, aborts the uploads its part lists name and empties it. */
  async close(prefix: string): Promise<void> {
    this.closed.add(prefix);
    const sent = [...(this.inFlight.get(prefix) ?? [])].map((p) => p.catch(() => undefined));
    await Promise.race([Promise.all(sent), new Promise((r) => setTimeout(r, SETTLE_MS).unref())]);
    const lists = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${prefix}parts/` }));
    for (const { Key } of lists.Contents ?? []) {
      // `parts/<name>/<version>.json` lists the upload of `<name>` (steps/extract.ts names both).
      const text = await (await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key }))).Body!.transformToString();
      const list = StateSchema.safeParse(parsed(text));
      const target = `${prefix}${Key!.slice(`${prefix}parts/`.length).split('/')[0]}`;
      if (list.success && !list.data.completed) {
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: target, UploadId: list.data.uploadId })).catch(() => undefined);
      }
    }
    const removed = await deletePrefix(this.s3, this.bucket, prefix);
    logger.info('cancelled job fenced', { prefix, ...removed });
  }
}
