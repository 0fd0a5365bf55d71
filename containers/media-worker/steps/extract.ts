import { join } from 'node:path';
import { ClassifyCheckpointSchema, type ExtractCheckpoint, ExtractCheckpointSchema } from '../../../core/job.js';
import { ExtractionFailedError } from '../../../core/errors.js';
import { ORIGINAL_NAME, stagingKey } from '../../../core/storage.js';
import type { StepContext } from '../context.js';
import { stagedMatches, uploadFile } from '../staging.js';
import { downloadDirect } from './download.js';
import { validateMedia } from './validate.js';

/** Brings the source into staging as `original`, validated as media. */
export async function extract(ctx: StepContext): Promise<ExtractCheckpoint> {
  const started = Date.now();
  // A retried or redriven step whose output is already staged does no work.
  const previous = ExtractCheckpointSchema.safeParse(ctx.input.checkpoints.extract);
  if (previous.success && (await stagedMatches(ctx.stagingBucket, previous.data.source))) return previous.data;

  const classified = ClassifyCheckpointSchema.safeParse(ctx.input.checkpoints.classify);
  if (!classified.success) throw new ExtractionFailedError('the classify checkpoint is missing or invalid');
  if (classified.data.kind !== 'direct') {
    throw new ExtractionFailedError(`sources of kind ${classified.data.kind} are not extracted by this worker yet`);
  }
  const path = join(ctx.scratch, ORIGINAL_NAME);
  await downloadDirect(ctx, classified.data, path);
  await validateMedia(path, ctx.config.MEDIA_INGEST_MIN_BYTES, ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS);
  const source = await uploadFile(ctx.stagingBucket, stagingKey(ctx.input.tenant, ctx.input.jobId, ORIGINAL_NAME), path);
  return { source, bytes: source.bytes, durationMs: Date.now() - started };
}
