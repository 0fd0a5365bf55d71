import { parseInput } from '../../../core/input.js';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ClassifyCheckpointSchema, type ExtractCheckpoint, ExtractCheckpointSchema } from '../../../core/job.js';
import { ExtractionFailedError } from '../../../core/errors.js';
import { type DashTrack, loadDash } from '../../../core/dash.js';
import { loadHls } from '../../../core/playlist.js';
import { ORIGINAL_AUDIO_NAME, ORIGINAL_NAME, SOURCE_INFO_NAME, stagingKey } from '../../../core/storage.js';
import type { StepContext } from '../context.js';
import { stagedMatches, uploadFile } from '../staging.js';
import { downloadDirect } from '../sources/direct.js';
import { budget, downloadTracks, type TrackJob } from '../sources/segments.js';
import type { Downloaded } from '../sources/downloaded.js';
import { type PartStore, stagingParts } from '../parts.js';
import { checkDuration, validateMedia } from './validate.js';
import { proxyEnv, startEgressProxy } from '../../../core/egress-proxy.js';
import { policyOf, probeRanges } from '../../../core/http.js';
import { ffprobeUrl } from '../tools/ffmpeg.js';
import { ToolError } from '../tools/run.js';
import { extractPlatform } from '../sources/platform.js';
import { copyUpload } from '../sources/upload.js';
import { fetchableSourceUrl } from '../../../core/request-secrets.js';

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

/** Finished parts (or segments) are kept in staging until the download is whole, so a retry never fetches them again. */
function partsOf(ctx: StepContext, name = ''): PartStore {
  return stagingParts(ctx.s3, ctx.stagingBucket, stagingKey(ctx.input.tenant, ctx.input.jobId, `parts/${name}`));
}

/**
 * One whole file by parallel ranges (a direct source, a DASH SegmentBase representation). Its parts are kept under
 * `parts/<folder><version>/`: a file that changed between attempts (another ETag or size) starts afresh.
 */
async function downloadWhole(ctx: StepContext, probe: Awaited<ReturnType<typeof probeRanges>>, dest: string, folder = ''): Promise<void> {
  const version = createHash('sha256').update(probe.version).digest('hex').slice(0, 16);
  await downloadDirect(ctx, probe, dest, partsOf(ctx, `${folder}${version}/`));
}

async function extractDash(ctx: StepContext, url: string): Promise<Downloaded> {
  const dash = await loadDash(ctx.config, url);
  const apart = dash.video && dash.audio;
  const tracks: Array<[DashTrack, string, string]> = [[dash.video ?? dash.audio!, join(ctx.scratch, ORIGINAL_NAME), 'video/']];
  if (apart) tracks.push([apart, join(ctx.scratch, ORIGINAL_AUDIO_NAME), 'audio/']);
  const segmented: TrackJob[] = [];
  const wholes: Array<Promise<void>> = [];
  for (const [track, dest, folder] of tracks) {
    if ('wholeUrl' in track) wholes.push(probeRanges(ctx.config, track.wholeUrl).then((probe) => downloadWhole(ctx, probe, dest, folder)));
    else segmented.push({ track, dest, store: partsOf(ctx, folder) });
  }
  // Video and audio are fetched at the same time.
  await Promise.all([...wholes, segmented.length ? downloadTracks(ctx, segmented, budget(ctx)) : undefined]);
  return { source: tracks[0]![1], ...(apart ? { audio: tracks[1]![1] } : {}) };
}

/** Brings the source into staging as `original` (and `original-audio` when served apart), validated as media. */
export async function extract(ctx: StepContext): Promise<ExtractCheckpoint> {
  const started = Date.now();
  // A retried or redriven step whose output is already staged does no work.
  const previous = ExtractCheckpointSchema.safeParse(ctx.input.checkpoints.extract);
  if (previous.success) {
    const refs = [previous.data.source, previous.data.audio].filter((r) => r !== undefined);
    if ((await Promise.all(refs.map((r) => stagedMatches(ctx.s3, ctx.stagingBucket, r)))).every(Boolean)) return previous.data;
  }

  const classified = parseInput(ClassifyCheckpointSchema, ctx.input.checkpoints.classify, 'checkpoints.classify', ExtractionFailedError);
  const url = classified.kind === 'upload' ? classified.url : await fetchableSourceUrl(ctx.s3, ctx.stagingBucket, ctx.input, classified.url);
  const original = join(ctx.scratch, ORIGINAL_NAME);
  let downloaded: Downloaded = { source: original };
  switch (classified.kind) {
    case 'direct': {
      // A source refused for its duration gets no request beyond ffprobe's, so the probe (size, ETag) comes after.
      await refuseTooLong(ctx, url);
      await downloadWhole(ctx, await probeRanges(ctx.config, url), original);
      break;
    }
    case 'hls': {
      const hls = await loadHls(ctx.config, url);
      const tracks: TrackJob[] = [{ track: hls.main, dest: original, store: partsOf(ctx, 'video/') }];
      if (hls.audio) tracks.push({ track: hls.audio, dest: join(ctx.scratch, ORIGINAL_AUDIO_NAME), store: partsOf(ctx, 'audio/') });
      await downloadTracks(ctx, tracks, budget(ctx));
      if (hls.audio) downloaded = { source: original, audio: join(ctx.scratch, ORIGINAL_AUDIO_NAME) };
      break;
    }
    case 'dash':
      downloaded = await extractDash(ctx, url);
      break;
    case 'platform':
      downloaded = await extractPlatform(ctx, url, downloadWhole);
      break;
    case 'upload':
      await copyUpload(ctx, url, original);
      break;
  }
  const limits = {
    minBytes: ctx.config.MEDIA_INGEST_MIN_BYTES,
    maxDurationSeconds: ctx.config.MEDIA_INGEST_MAX_DURATION_SECONDS,
    timeoutMs: ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS,
  };
  await validateMedia(downloaded.source, limits);
  if (downloaded.audio) await validateMedia(downloaded.audio, limits);
  const key = (name: string) => stagingKey(ctx.input.tenant, ctx.input.jobId, name);
  const source = await uploadFile(ctx.s3, ctx.stagingBucket, key(ORIGINAL_NAME), downloaded.source);
  const audio = downloaded.audio ? await uploadFile(ctx.s3, ctx.stagingBucket, key(ORIGINAL_AUDIO_NAME), downloaded.audio) : undefined;
  // Merge, next, reads them here when it runs on this worker.
  await ctx.cache.put(downloaded.source, source.sha256);
  if (audio && downloaded.audio) await ctx.cache.put(downloaded.audio, audio.sha256);
  const info = downloaded.info ? await uploadFile(ctx.s3, ctx.stagingBucket, key(SOURCE_INFO_NAME), downloaded.info, 'application/json') : undefined;
  await partsOf(ctx).clear();
  return {
    source,
    ...(audio ? { audio } : {}),
    ...(info ? { info } : {}),
    bytes: source.bytes + (audio?.bytes ?? 0),
    durationMs: Date.now() - started,
  };
}
