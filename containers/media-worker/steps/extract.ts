import { parseInput } from '../../../core/input.js';
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
import { downloadTogether } from '../sources/together.js';
import { StagingTarget } from '../staging-target.js';
import { deletePrefix } from '../../../core/staging.js';
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

/**
 * Where extract stages each file it brings (`original`, `original-audio`): one target per name, its upload's part lists
 * kept under `parts/<name>/` until the step is done.
 */
function stagingTargets(ctx: StepContext) {
  const key = (name: string) => stagingKey(ctx.input.tenant, ctx.input.jobId, name);
  const targets = new Map<string, StagingTarget>();
  return {
    of(name: string): StagingTarget {
      if (!targets.has(name)) targets.set(name, new StagingTarget(ctx.s3, ctx.stagingBucket, key(name), key(`parts/${name}/`)));
      return targets.get(name)!;
    },
    /** The part lists, once the step's files are staged. */
    clear: () => deletePrefix(ctx.s3, ctx.stagingBucket, key('parts/')),
  };
}

async function extractDash(ctx: StepContext, url: string, staging: ReturnType<typeof stagingTargets>): Promise<Downloaded> {
  const dash = await loadDash(ctx.config, url);
  const apart = dash.video && dash.audio;
  const tracks: Array<[DashTrack, string, string]> = [[dash.video ?? dash.audio!, join(ctx.scratch, ORIGINAL_NAME), ORIGINAL_NAME]];
  if (apart) tracks.push([apart, join(ctx.scratch, ORIGINAL_AUDIO_NAME), ORIGINAL_AUDIO_NAME]);
  const segmented: TrackJob[] = [];
  const runs: Array<(c: StepContext) => Promise<void>> = [];
  for (const [track, dest, name] of tracks) {
    if ('wholeUrl' in track) runs.push(async (c) => void (await downloadDirect(c, await probeRanges(c.config, track.wholeUrl), dest, staging.of(name))));
    else segmented.push({ track, dest, target: staging.of(name) });
  }
  if (segmented.length) runs.push((c) => downloadTracks(c, segmented, budget(c)));
  // Video and audio are fetched at the same time; when one fails, the other stops before the step fails.
  await downloadTogether(ctx, runs);
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
  const staging = stagingTargets(ctx);
  let downloaded: Downloaded = { source: original };
  switch (classified.kind) {
    case 'direct': {
      // A source refused for its duration gets no request beyond ffprobe's, so the probe (size, ETag) comes after.
      await refuseTooLong(ctx, url);
      await downloadDirect(ctx, await probeRanges(ctx.config, url), original, staging.of(ORIGINAL_NAME));
      break;
    }
    case 'hls': {
      const hls = await loadHls(ctx.config, url);
      const tracks: TrackJob[] = [{ track: hls.main, dest: original, target: staging.of(ORIGINAL_NAME) }];
      if (hls.audio) tracks.push({ track: hls.audio, dest: join(ctx.scratch, ORIGINAL_AUDIO_NAME), target: staging.of(ORIGINAL_AUDIO_NAME) });
      await downloadTracks(ctx, tracks, budget(ctx));
      if (hls.audio) downloaded = { source: original, audio: join(ctx.scratch, ORIGINAL_AUDIO_NAME) };
      break;
    }
    case 'dash':
      downloaded = await extractDash(ctx, url, staging);
      break;
    case 'platform':
      downloaded = await extractPlatform(ctx, url, async (c, probe, dest, name) => void (await downloadDirect(c, probe, dest, staging.of(name))));
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
  // Staged already when the download fed its upload; uploaded once now otherwise.
  const source = await staging.of(ORIGINAL_NAME).ref(downloaded.source);
  const audio = downloaded.audio ? await staging.of(ORIGINAL_AUDIO_NAME).ref(downloaded.audio) : undefined;
  // Merge, next, reads them here when it runs on this worker.
  await ctx.cache.put(downloaded.source, source.sha256);
  if (audio && downloaded.audio) await ctx.cache.put(downloaded.audio, audio.sha256);
  const info = downloaded.info ? await uploadFile(ctx.s3, ctx.stagingBucket, key(SOURCE_INFO_NAME), downloaded.info, 'application/json') : undefined;
  await staging.clear();
  return {
    source,
    ...(audio ? { audio } : {}),
    ...(info ? { info } : {}),
    bytes: source.bytes + (audio?.bytes ?? 0),
    durationMs: Date.now() - started,
  };
}
