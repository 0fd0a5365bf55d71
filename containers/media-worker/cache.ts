import type { S3Client } from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
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
 * Recent steps' files kept on the worker's disk, keyed by sha256, within `maxBytes`, least recently used out first:
 * a later step of the same job on the same worker reads them here instead of from staging. Every worker process on
 * the disk shares it (a task's slots on AWS, the local runtime's workers here), so entries are replaced by a rename,
 * never rewritten, and a reader checks its own link. An entry is trusted only when its hash still matches; a miss, or
 * a corrupt entry (dropped), falls back to staging, so a miss is always correct.
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
      // Placed under a name of its own, then renamed over the entry: a file another worker is reading is never touched.
      const placing = join(this.dir, `.${sha256}.${randomUUID()}`);
      await place(path, placing);
      await this.touch(placing);
      await rename(placing, join(this.dir, sha256));
      await this.evict();
    } catch (err) {
      // A full disk only costs later steps a read from staging.
      logger.warn('cache could not keep a file', { sha256, error: (err as Error).message });
    }
  }

  /** Puts the entry for `sha256` at `dest`: false when there is none, or it no longer hashes to its name. */
  async take(sha256: string, dest: string): Promise<boolean> {
    const entry = join(this.dir, sha256);
    // The step's own link first: another worker evicting the entry meanwhile cannot take the bytes being checked.
    if (!(await place(entry, dest).then(() => true, () => false))) return false;
    if ((await sha256Of(dest)) !== sha256) {
      logger.warn('cache entry corrupt: dropped', { sha256 });
      await Promise.all([rm(entry, { force: true }), rm(dest, { force: true })]);
      return false;
    }
    await this.touch(entry).catch(() => undefined);
    return true;
  }

  /** Marks an entry used now: eviction goes by modification time. */
  private async touch(entry: string): Promise<void> {
    const now = new Date();
    await utimes(entry, now, now);
  }

  /** Oldest-used entries out until the rest fit the bound (what another worker removed meanwhile is passed over). */
  private async evict(): Promise<void> {
    const found = await Promise.all(
      // A `.`-name is a file another worker is placing: neither counted nor removed (its rename would fail).
      (await readdir(this.dir)).filter((name) => !name.startsWith('.')).map(async (name) => {
        const path = join(this.dir, name);
        const info = await stat(path).catch(() => undefined);
        return info && { path, size: info.size, mtimeMs: info.mtimeMs, file: info.isFile() };
      }),
    );
    const entries = found.filter((e) => e !== undefined);
    entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
    let kept = 0;
    for (const e of entries) {
      kept += e.size;
      // A folder is an earlier layout's (one per worker process): its entries go too.
      if (kept > this.maxBytes || !e.file) await rm(e.path, { recursive: true, force: true });
    }
  }
}

/** A staged file brought into the step's scratch: from this worker's cache when it holds it, else from staging (and kept). */
export async function bringStaged(s3: S3Client, bucket: string, cache: FileCache, ref: FileRef, dest: string): Promise<void> {
  if (await cache.take(ref.sha256, dest)) return;
  const got = await downloadFile(s3, bucket, ref.key, dest);
  if (got.sha256 === ref.sha256) await cache.put(dest, ref.sha256);
}

/** The worker's cache, in the scratch every worker process on this disk shares. */
export function workerCache(workDir: string, maxBytes: number): FileCache {
  return new FileCache(join(workDir, '.cache'), maxBytes);
}
