import { parseInput } from '../../../core/input.js';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MergeFailedError } from '../../../core/errors.js';
import { type FileRef, ExtractCheckpointSchema, type MergeCheckpoint, MergeCheckpointSchema } from '../../../core/job.js';
import { ARTIFACT_NAMES, ARTIFACT_TYPES, ORIGINAL_AUDIO_NAME, ORIGINAL_NAME, SOURCE_INFO_NAME, stagingKey } from '../../../core/storage.js';
import type { StepContext } from '../context.js';
import { bringStaged } from '../cache.js';
import { downloadFile, stagedMatches, uploadFile } from '../staging.js';
import { durationOf, ffmpeg, ffprobe, hasStream, mediaInput } from '../tools/ffmpeg.js';
import { asStepError, ToolError } from '../tools/run.js';
import { whyNotAsIs } from './as-is.js';
import { buildMetadata } from './metadata.js';
import type { Processing } from '../../../core/metadata.js';

/** ffmpeg failures become MergeFailed with the tool's stderr tail on the job record. */
function media<T>(what: string, run: () => Promise<T>): Promise<T> {
  return asStepError(MergeFailedError, (err) => `${what}: ${err.message}`, run);
}

/**
 * Remuxes into MP4 without re-encoding; re-encodes only when the codecs cannot go into MP4, and says why.
 * -xerror: a truncated or corrupt source fails here (MergeFailed) instead of yielding a silently short file.
 */
export async function makeSourceMp4(inputs: string[], out: string, timeoutMs: number): Promise<Processing> {
  // One input: its first video and audio. Two (separate streams, as platforms and DASH serve them): video, then audio.
  const maps = inputs.length > 1 ? ['-map', '0:v:0', '-map', '1:a:0'] : ['-map', '0:v:0?', '-map', '0:a:0?'];
  const original = inputs.flatMap((i) => mediaInput(i));
  let reason: string;
  try {
    await ffmpeg(['-xerror', ...original, ...maps, '-c', 'copy', '-movflags', '+faststart', out], timeoutMs);
    return { path: 'remuxed', reason: null };
  } catch (err) {
    if (!(err instanceof ToolError) || err.timedOut) throw err;
    reason = `the streams cannot be copied into MP4: ${err.stderrTail.at(-1) ?? err.message}`;
  }
  await ffmpeg(
    ['-xerror', ...original, ...maps, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-c:a', 'aac', '-b:a', '160k', '-movflags', '+faststart', out],
    timeoutMs,
  );
  return { path: 'reencoded', reason };
}

/** Mono 16 kHz audio; -vn: the video is never decoded. */
export async function extractAudio(source: string, out: string, format: 'wav' | 'flac', timeoutMs: number): Promise<void> {
  const codec = format === 'flac' ? ['-c:a', 'flac'] : ['-c:a', 'pcm_s16le'];
  await ffmpeg([...mediaInput(source), '-vn', '-map', '0:a:0', '-ac', '1', '-ar', '16000', ...codec, out], timeoutMs);
}

/** Where candidate thumbnails are taken, as fractions of the duration. */
const THUMBNAIL_AT = [0.1, 0.3, 0.5, 0.7, 0.9];

/** Below this luma entropy a frame is black or blank. */
const BLANK_ENTROPY = 0.1;

/** Candidate frames in one ffmpeg run, each scored by the entropy of its luma; the best one's path and score. */
async function bestCandidate(source: string, duration: number, scratch: string, keyframesOnly: boolean, timeoutMs: number) {
  // Keyframes only: each candidate costs one decoded frame, not the run from the previous keyframe.
  const skip = keyframesOnly ? ['-skip_frame', 'nokey'] : [];
  const inputs = THUMBNAIL_AT.flatMap((f) => [...skip, '-ss', (duration * f).toFixed(3), ...mediaInput(source)]);
  const graph = THUMBNAIL_AT.map((_, i) => `[${i}:v]scale='min(640,iw)':-2,entropy,metadata=print:file=${join(scratch, `entropy-${i}.txt`)}[t${i}]`).join(';');
  const outputs = THUMBNAIL_AT.flatMap((_, i) => ['-map', `[t${i}]`, '-frames:v', '1', '-q:v', '3', join(scratch, `candidate-${i}.jpg`)]);
  await ffmpeg([...inputs, '-filter_complex', graph, ...outputs], timeoutMs);
  let best = { path: '', score: -1 };
  for (let i = 0; i < THUMBNAIL_AT.length; i++) {
    const text = await readFile(join(scratch, `entropy-${i}.txt`), 'utf8').catch(() => '');
    const score = Number(/normalized_entropy\.normal\.Y=([\d.]+)/.exec(text)?.[1] ?? -1);
    if (score > best.score) best = { path: join(scratch, `candidate-${i}.jpg`), score };
  }
  return best;
}

/**
 * A representative frame: candidates across the video, the most detailed wins (a black or blank frame scores ~0).
 * Keyframes first, which is cheap; accurate seeks when that finds nothing but blank frames. At most 640 px wide.
 */
export async function makeThumbnail(source: string, duration: number, scratch: string, out: string, timeoutMs: number): Promise<void> {
  let best = await bestCandidate(source, duration, scratch, true, timeoutMs).catch((err: unknown) => {
    if (err instanceof ToolError && !err.timedOut) return { path: '', score: -1 };
    throw err;
  });
  if (best.score < BLANK_ENTROPY) best = await bestCandidate(source, duration, scratch, false, timeoutMs);
  await rename(best.path, out);
}

/** Produces source.mp4, metadata.json and, as the actions ask, thumbnail.jpg and audio.wav (mono 16 kHz). */
export async function merge(ctx: StepContext): Promise<MergeCheckpoint> {
  const started = Date.now();
  const previous = MergeCheckpointSchema.safeParse(ctx.input.checkpoints.merge);
  if (previous.success) {
    const staged = await Promise.all(Object.values(previous.data.files).map((f) => stagedMatches(ctx.s3, ctx.stagingBucket, f)));
    if (staged.every(Boolean)) return previous.data;
  }
  const extracted = parseInput(ExtractCheckpointSchema, ctx.input.checkpoints.extract, 'checkpoints.extract', MergeFailedError);

  const timeoutMs = ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS;
  const { tenant, jobId, request } = ctx.input;
  const local = (name: string) => join(ctx.scratch, name);
  const key = (name: string) => stagingKey(tenant, jobId, name);
  const files: Record<string, FileRef> = {};

  await bringStaged(ctx.s3, ctx.stagingBucket, ctx.cache, extracted.source, local(ORIGINAL_NAME));
  const inputs = [local(ORIGINAL_NAME)];
  if (extracted.audio) {
    await bringStaged(ctx.s3, ctx.stagingBucket, ctx.cache, extracted.audio, local(ORIGINAL_AUDIO_NAME));
    inputs.push(local(ORIGINAL_AUDIO_NAME));
  }
  let info: Record<string, unknown> = {};
  if (extracted.info) {
    await downloadFile(ctx.s3, ctx.stagingBucket, extracted.info.key, local(SOURCE_INFO_NAME));
    info = JSON.parse(await readFile(local(SOURCE_INFO_NAME), 'utf8')) as Record<string, unknown>;
  }
  // The original as it is when it already is the source.mp4 a remux would make: copied in S3, nothing uploaded.
  const originalProbe = extracted.audio ? undefined : await media('probe', () => ffprobe(local(ORIGINAL_NAME), timeoutMs));
  const notAsIs = originalProbe ? await whyNotAsIs(local(ORIGINAL_NAME), originalProbe) : 'the audio is served apart';
  let source = local(ORIGINAL_NAME);
  let processing: Processing = { path: 'copied', reason: null };
  if (notAsIs) {
    source = local(ARTIFACT_NAMES.source);
    const made = await media('remux', () => makeSourceMp4(inputs, source, timeoutMs));
    processing = { path: made.path, reason: made.reason ?? notAsIs };
  }
  const probe = originalProbe && !notAsIs ? originalProbe : await media('probe', () => ffprobe(source, timeoutMs));
  const hasVideo = hasStream(probe, 'video');
  const hasAudio = hasStream(probe, 'audio');
  const duration = durationOf(probe);
  if (!hasVideo && !hasAudio) throw new MergeFailedError('source.mp4 has neither audio nor video');

  // A kept original is not copied in staging: publish copies it, as source.mp4, straight from where extract staged it.
  const stage = (name: keyof typeof ARTIFACT_TYPES, path: string) => uploadFile(ctx.s3, ctx.stagingBucket, key(name), path, ARTIFACT_TYPES[name]);
  files[ARTIFACT_NAMES.source] = notAsIs ? await stage(ARTIFACT_NAMES.source, source) : extracted.source;
  await writeFile(local(ARTIFACT_NAMES.metadata), JSON.stringify(buildMetadata(probe, ctx.input, processing, info), null, 2));
  files[ARTIFACT_NAMES.metadata] = await stage(ARTIFACT_NAMES.metadata, local(ARTIFACT_NAMES.metadata));

  const wants = (action: 'transcode' | 'transcribe') => request.actions.includes(action);
  // The thumbnail and the audio at once, from the one file: the thumbnail reads a few keyframes while the audio streams
  // the whole file, so the second read comes from the page cache and the two tools use both cores.
  const thumbnail = async () => {
    await media('thumbnail', () => makeThumbnail(source, duration, ctx.scratch, local(ARTIFACT_NAMES.thumbnail), timeoutMs));
    files[ARTIFACT_NAMES.thumbnail] = await stage(ARTIFACT_NAMES.thumbnail, local(ARTIFACT_NAMES.thumbnail));
  };
  const audio = async () => {
    const flac = ctx.config.MEDIA_INGEST_AUDIO_FORMAT === 'flac';
    const name = flac ? ARTIFACT_NAMES.audioFlac : ARTIFACT_NAMES.audio;
    await media('audio', () => extractAudio(source, local(name), flac ? 'flac' : 'wav', timeoutMs));
    files[name] = await stage(name, local(name));
    // Transcribe, next, reads it here when it runs on this worker.
    await ctx.cache.put(local(name), files[name].sha256);
  };
  await Promise.all([
    hasVideo && wants('transcode') ? thumbnail() : undefined,
    hasAudio && (wants('transcode') || wants('transcribe')) ? audio() : undefined,
  ]);
  const bytes = Object.values(files).reduce((n, f) => n + f.bytes, 0);
  return { files, hasAudio, hasVideo, durationSeconds: duration, bytes, durationMs: Date.now() - started };
}
