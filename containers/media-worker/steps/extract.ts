import { join } from 'node:path';
import { ClassifyCheckpointSchema, type ExtractCheckpoint, ExtractCheckpointSchema } from '../../../core/job.js';
import { ExtractionFailedError } from '../../../core/errors.js';
import { ORIGINAL_NAME, stagingKey } from '../../../core/storage.js';
import type { StepContext } from '../context.js';
import { stagedMatches, uploadFile } from '../staging.js';
import { downloadDirect } from './download.js';
import { downloadHls } from './hls.js';
import { stagingParts } from '../parts.js';
import { checkDuration, validateMedia } from './validate.js';
import { proxyEnv, startEgressProxy } from '../../../core/egress-proxy.js';
import { policyOf } from '../../../core/http.js';
import { ffprobeUrl } from '../tools/ffmpeg.js';
import { ToolError } from '../tools/run.js';

const REMOTE_PROBE_TIMEOUT_MS = 60_000;

/**
 * Refuses media longer than allowed before downloading it, when ffprobe can tell from the first bytes.
 * A source ffprobe cannot read remotely is not refused here: the download is validated in full anyway.
 */
async function refuseTooLong(ctx: StepContext, url: string): Promise<void> {
  const proxy = await startEgressProxy(policyOf(ctx.config));
  try {
    const limits = { idleMs: ctx.config.MEDIA_INGEST_IDLE_TIMEOUT_MS, timeoutMs: REMOTE_PROBE_TIMEOUT_MS };
    const probe = await ffprobeUrl(url, proxyEnv(proxy), limits).catch((err: unknown) => {
      if (err instanceof ToolError) return undefined;
      throw err;
    });
    if (probe) checkDuration(probe, ctx.config.MEDIA_INGEST_MAX_DURATION_SECONDS);
  } finally {
    await proxy.close();
  }
}

/** Brings the source into staging as `original`, validated as media. */
export async function extract(ctx: StepContext): Promise<ExtractCheckpoint> {
  const started = Date.now();
  // A retried or redriven step whose output is already staged does no work.
  const previous = ExtractCheckpointSchema.safeParse(ctx.input.checkpoints.extract);
  if (previous.success && (await stagedMatches(ctx.stagingBucket, previous.data.source))) return previous.data;

  const classified = ClassifyCheckpointSchema.safeParse(ctx.input.checkpoints.classify);
  if (!classified.success) throw new ExtractionFailedError('the classify checkpoint is missing or invalid');
  const path = join(ctx.scratch, ORIGINAL_NAME);
  // Finished parts (or segments) are kept in staging until the download is whole, so a retry never fetches them again.
  const parts = stagingParts(ctx.stagingBucket, stagingKey(ctx.input.tenant, ctx.input.jobId, 'parts/'));
  switch (classified.data.kind) {
    case 'direct':
      await refuseTooLong(ctx, classified.data.url);
      await downloadDirect(ctx, classified.data, path, parts);
      break;
    case 'hls':
      await downloadHls(ctx, classified.data.url, path, parts);
      break;
    default:
      throw new ExtractionFailedError(`sources of kind ${classified.data.kind} are not extracted by this worker yet`);
  }
  await validateMedia(path, {
    minBytes: ctx.config.MEDIA_INGEST_MIN_BYTES,
    maxDurationSeconds: ctx.config.MEDIA_INGEST_MAX_DURATION_SECONDS,
    timeoutMs: ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS,
  });
  const source = await uploadFile(ctx.stagingBucket, stagingKey(ctx.input.tenant, ctx.input.jobId, ORIGINAL_NAME), path);
  await parts.clear();
  return { source, bytes: source.bytes, durationMs: Date.now() - started };
}
