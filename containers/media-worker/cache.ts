import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileRef } from '../../core/job.js';
import { logger } from '../../core/logger.js';
import { downloadFile } from './staging.js';

/** A file's sha256 by one streamed read. */
async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A hard link when it can (same disk: no bytes copied), else a copy. */
async function place(from: string, to: string): Promise<void> {
  await link(from, to).catch(() => copyFile(from, to));
}

/**
 * Recent steps' files kept on this worker's disk, keyed by sha256, within `maxBytes`, least recently used out first:
 * a later step of the same job on the same worker reads them here instead of from staging. An entry is trusted only
 * when its hash still matches; a miss, or a corrupt entry (dropped), falls back to staging, so a miss is always correct.
 */
export class FileCache {
  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** Keeps `path` (whose sha256 is `sha256`) for later steps, then evicts down to the bound; never fails the step. */
  async put(path: string, sha256: string): Promise<void> {
    try {
      if (this.maxBytes <= 0 || (await stat(path)).size > this.maxBytes) return;
      await mkdir(this.dir, { recursive: true });
      const entry = join(this.dir, sha256);
      await unlink(entry).catch(() => undefined);
      await place(path, entry);
      await this.touch(entry);
      await this.evict();
    } catch (err) {
      // A full disk only costs later steps a read from staging.
      logger.warn('cache could not keep a file', { sha256, error: (err as Error).message });
    }
  }

  /** Puts the entry for `sha256` at `dest`: false when there is none, or it no longer hashes to its name. */
  async take(sha256: string, dest: string): Promise<boolean> {
    const entry = join(this.dir, sha256);
    const found = await stat(entry).catch(() => undefined);
    if (!found) return false;
    if ((await sha256Of(entry)) !== sha256) {
      logger.warn('cache entry corrupt: dropped', { sha256 });
      await rm(entry, { force: true });
      return false;
    }
    await this.touch(entry);
    await place(entry, dest);
    return true;
  }

  /** Marks an entry used now: eviction goes by modification time. */
  private async touch(entry: string): Promise<void> {
    const now = new Date();
    await utimes(entry, now, now);
  }

  /** Oldest-used entries out until the rest fit the bound. */
  private async evict(): Promise<void> {
    const entries = await Promise.all((await readdir(this.dir)).map(async (name) => ({ path: join(this.dir, name), ...(await stat(join(this.dir, name))) })));
    entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
    let kept = 0;
    for (const e of entries) {
      kept += e.size;
      if (kept > this.maxBytes) await rm(e.path, { force: true });
    }
  }
}

/** A staged file brought into the step's scratch: from this worker's cache when it holds it, else from staging (and kept). */
export async function bringStaged(s3: S3Client, bucket: string, cache: FileCache, ref: FileRef, dest: string): Promise<void> {
  if (await cache.take(ref.sha256, dest)) return;
  const got = await downloadFile(s3, bucket, ref.key, dest);
  if (got.sha256 === ref.sha256) await cache.put(dest, ref.sha256);
}

/** Whether a process still runs (EPERM: it does, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * This worker's cache, under the task's scratch in a folder of its own (locally several workers share one scratch);
 * the folders of workers that are gone are removed first, so their entries never outlive them.
 */
export async function workerCache(workDir: string, maxBytes: number): Promise<FileCache> {
  const root = join(workDir, '.cache');
  await mkdir(root, { recursive: true });
  for (const name of await readdir(root)) if (!alive(Number(name))) await rm(join(root, name), { recursive: true, force: true });
  return new FileCache(join(root, String(process.pid)), maxBytes);
}
