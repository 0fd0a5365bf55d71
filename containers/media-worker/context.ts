import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../core/config.js';
import type { FileCache } from './cache.js';
import type { ExecutionInput, Step } from '../../core/job.js';
import { logger } from '../../core/logger.js';
import { type JobsTable, updateProgress } from '../../core/records.js';

/** What a step gets: its input, configuration, a scratch directory and a way to report progress. */
export interface StepContext {
  readonly step: Step;
  readonly input: ExecutionInput;
  readonly config: Config;
  readonly scratch: string;
  readonly stagingBucket: string;
  readonly s3: S3Client;
  readonly jobs: JobsTable;
  /** Files earlier steps on this worker kept (`bringStaged` reads through it). */
  readonly cache: FileCache;
  progress(bytes: number, totalBytes?: number): void;
}

const PROGRESS_INTERVAL_MS = 1000;

/** Writes a step's progress; `stop` drops a write still waiting, so none lands after the step ends. */
export interface ProgressReporter {
  report: StepContext['progress'];
  stop(): void;
}

/**
 * Progress on the job record, at most once a second, never failing the step it reports on. A report that comes too
 * soon is written at the end of the second, so a download that stalls still shows where it stands.
 */
export function progressReporter(table: JobsTable, input: ExecutionInput, step: Step): ProgressReporter {
  let last = 0;
  let started: number | undefined;
  let latest: { bytes: number; totalBytes?: number } = { bytes: 0 };
  let timer: NodeJS.Timeout | undefined;
  const write = () => {
    clearTimeout(timer);
    timer = undefined;
    last = Date.now();
    const seconds = (last - started!) / 1000;
    const bytesPerSecond = seconds > 0 ? Math.round(latest.bytes / seconds) : undefined;
    updateProgress(table, input.tenant, input.jobId, { step, ...latest, bytesPerSecond }).catch((err: Error) =>
      logger.warn('progress update failed', { error: err.message }),
    );
  };
  return {
    report: (bytes, estimate) => {
      // An estimate below what has arrived is no total (progress never shows more bytes than its total, nor 100 % early).
      const totalBytes = estimate !== undefined && estimate >= bytes ? estimate : undefined;
      const now = Date.now();
      started ??= now;
      latest = { bytes, totalBytes };
      const finished = totalBytes !== undefined && bytes >= totalBytes;
      if (now - last >= PROGRESS_INTERVAL_MS || finished) write();
      else timer ??= setTimeout(write, last + PROGRESS_INTERVAL_MS - now).unref();
    },
    stop: () => clearTimeout(timer),
  };
}
