import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MediaIngestError, TooLargeError, UnsupportedSourceError } from '../../../core/errors.js';
import { bodyError } from '../../../core/http.js';
import { inLanes } from '../../../core/lanes.js';
import { type Budget, downloadBudget, readBody } from '../../../core/limits.js';
import { retry } from '../../../core/retry.js';
import type { ByteRange, SegmentedTrack } from '../../../core/playlist.js';
import type { StepContext } from '../context.js';
import type { Slice, StagedUpload } from '../staged-upload.js';
import type { StagingTarget } from '../staging-target.js';
import { ffmpeg, mediaInput } from '../tools/ffmpeg.js';
import { segmentDecipher, type SegmentDecipher } from './aes.js';
import { openMedia, streamBody, transient, where } from './media-fetch.js';

const SEGMENT_ATTEMPTS = 3;
/** An AES-128 key is 16 bytes: anything much larger is not a key. */
const MAX_KEY_BYTES = 1024;
/** An initialisation section holds headers, not media. */
const MAX_INIT_BYTES = 8 * 1024 * 1024;

/** A byte budget and deadline shared by every track of one download. */
export function budget(ctx: StepContext): Budget {
  return downloadBudget(ctx.config);
}

const spanOf = (range: ByteRange | undefined) => (range ? { start: range.offset, end: range.offset + range.length - 1 } : undefined);

/** A 200 to a byte range: the server serves whole files only, and fetching one per segment would fetch it again and again. */
const rangesIgnored = (url: string) =>
  new UnsupportedSourceError(`${new URL(url).host} does not serve byte ranges (HTTP 200 to a Range request), which the playlist's byte-range segments need`);

const policy = { attempts: SEGMENT_ATTEMPTS, retryable: transient, delayMs: (attempt: number) => 200 * attempt };

/** An AES key, small, in memory; refused past a small cap. */
async function fetchKey(ctx: StepContext, uri: string, budget: Budget): Promise<Buffer> {
  return retry(async () => {
    const media = await openMedia(ctx.config, uri, undefined, budget.signal, rangesIgnored);
    const refuse = () => new TooLargeError(`the key at ${where(media.url)} is larger than ${MAX_KEY_BYTES} bytes`);
    return readBody(media.body, MAX_KEY_BYTES, { refuse, onBytes: budget.count }).catch((err: unknown) => {
      throw err instanceof MediaIngestError ? err : bodyError(err, media.url);
    });
  }, policy);
}

interface Resource {
  uri: string;
  byterange?: ByteRange;
}

/**
 * One segment or init section streamed to `path` (through `decipher`, if encrypted), at most `cap` bytes, retried
 * from its start when the connection fails; a failed attempt's bytes are taken back from the budget.
 */
async function fetchToFile(
  ctx: StepContext,
  resource: Resource,
  path: string,
  count: (n: number) => void,
  signal: AbortSignal,
  options: { decipher?: () => Promise<SegmentDecipher>; cap?: number } = {},
): Promise<void> {
  await retry(async () => {
    const decipher = await options.decipher?.();
    const media = await openMedia(ctx.config, resource.uri, spanOf(resource.byterange), signal, rangesIgnored);
    const tooLarge = () => new TooLargeError(`the initialisation section at ${where(media.url)} is larger than ${options.cap} bytes`);
    if (options.cap && (media.length ?? 0) > options.cap) {
      await media.body.cancel();
      throw tooLarge();
    }
    const file = await open(path, 'w');
    let received = 0;
    try {
      await streamBody(media, async (chunk) => {
        received += chunk.length;
        count(chunk.length);
        if (options.cap && received > options.cap) throw tooLarge();
        await file.write(decipher ? decipher.update(chunk) : chunk);
      });
      if (decipher) await file.write(decipher.final());
    } catch (err) {
      count(-received);
      throw err;
    } finally {
      await file.close();
    }
  }, policy);
}

/** A track to fetch: where it goes and where it is staged. */
export interface TrackJob {
  track: SegmentedTrack;
  dest: string;
  target?: StagingTarget;
}

/** What identifies a playlist's segments, so an upload begun on another list is not resumed. */
const versionOf = (track: SegmentedTrack) => JSON.stringify([track.init, track.segments.map((s) => [s.uri, s.byterange, s.key?.uri])]);

/**
 * Fetches segmented tracks (HLS, DASH) without re-encoding: the segments of all tracks in one pool of parallel lanes,
 * AES-128 decrypted, then each track joined: a continuous stream by appending its segments (behind the init section,
 * if any), MPEG-TS runs separated by discontinuities by ffmpeg's concat demuxer. A continuous track with a staging
 * target goes up while it downloads, its segments in order as parts of the staged object's multipart upload, so a
 * retried worker fetches only the segments no upload part holds.
 */
export async function downloadTracks(ctx: StepContext, jobs: TrackJob[], budget: Budget): Promise<void> {
  const keys = new Map<string, Promise<Buffer>>();
  const keyFor = (uri: string) => {
    if (!keys.has(uri)) keys.set(uri, fetchKey(ctx, uri, budget));
    return keys.get(uri)!;
  };
  // Progress: bytes so far, and the total estimated from the media seconds they cover (exact once all are in).
  const secondsOf = (segment: SegmentedTrack['segments'][number]) => segment.duration || 1;
  const seconds = (w: { job: number; index: number }) => secondsOf(jobs[w.job]!.track.segments[w.index]!);
  const totalSeconds = jobs.reduce((sum, { track }) => sum + track.segments.reduce((n, s) => n + secondsOf(s), 0), 0);
  let doneSeconds = 0;
  const count = (n: number) => {
    budget.count(n);
    const received = budget.received();
    ctx.progress(received, doneSeconds ? Math.round((received * totalSeconds) / doneSeconds) : undefined);
  };
  const work: Array<{ job: number; index: number; path: string }> = [];
  const inits: Array<Slice | undefined> = [];
  const uploads: Array<StagedUpload | undefined> = [];
  for (const [j, { track, target }] of jobs.entries()) {
    if (!track.segments.length) throw new UnsupportedSourceError('the playlist has no segments');
    const dir = join(ctx.scratch, `segments-${j}`);
    await mkdir(dir, { recursive: true });
    // The init section first: it leads the first upload part.
    const init = track.init && join(dir, 'init.seg');
    if (track.init) await fetchToFile(ctx, track.init, init!, count, budget.signal, { cap: MAX_INIT_BYTES });
    const initBytes = init ? (await stat(init)).size : 0;
    inits.push(init ? { path: init, start: 0, end: initBytes - 1 } : undefined);
    const continuous = runsOf(track, track.segments.map(() => '')).length === 1;
    target?.forget();
    const upload = continuous ? await target?.open(versionOf(track), track.segments.length) : undefined;
    // The kept parts' bytes count once: the init section in the first part was just fetched and counted again.
    if (upload) budget.count(upload.keptBytes() - (upload.kept(0) ? initBytes : 0));
    uploads.push(upload);
    track.segments.forEach((_, index) => work.push({ job: j, index, path: join(dir, `${String(index).padStart(6, '0')}.seg`) }));
  }

  const done = (w: (typeof work)[number]) => {
    doneSeconds += seconds(w);
    count(0);
  };

  await inLanes(work, ctx.input.options.connections, async (item) => {
    const { job: j, index, path } = item;
    const upload = uploads[j];
    if (upload?.kept(index)) return done(item);
    const { key, ...resource } = jobs[j]!.track.segments[index]!;
    const decipher = key && (async () => segmentDecipher(await keyFor(key.uri), key.iv, key.uri));
    await fetchToFile(ctx, resource, path, count, budget.signal, decipher ? { decipher } : {});
    const segment = { path, start: 0, end: (await stat(path)).size - 1 };
    upload?.add(index, index === 0 && inits[j] ? [inits[j], segment] : [segment]);
    done(item);
  }).catch(async (err: unknown) => {
    await Promise.all(uploads.map((u) => u?.settle()));
    throw err;
  });

  for (const [j, { track, dest }] of jobs.entries()) {
    const paths = work.filter((w) => w.job === j).map((w) => w.path);
    const init = inits[j] ? [inits[j].path] : [];
    const upload = uploads[j];
    // A resumed upload lacks the segments an earlier attempt staged: the staged object, read back, is the track.
    if (upload) await upload.finish(dest);
    if (upload?.resumed) continue;
    const runs = runsOf(track, paths);
    if (runs.length === 1) {
      // One continuous stream (fMP4 or WebM behind its init section, or MPEG-TS): its segments appended are a valid file.
      await append(dest, [...init, ...runs[0]!]);
    } else {
      // Across discontinuities timestamps and continuity counters jump: ffmpeg's concat demuxer joins the runs.
      const runFiles = await Promise.all(runs.map(async (run, r) => {
        const file = join(ctx.scratch, `segments-${j}`, `run-${r}.ts`);
        await append(file, run);
        return file;
      }));
      const list = join(ctx.scratch, `segments-${j}`, 'list.txt');
      // Each run is opened as MPEG-TS only (a run that is a concat list in disguise is refused); -xerror: a run that
      // cannot be opened fails the join instead of ending it early.
      await writeFile(list, runFiles.map((p) => `file '${p}'\noption format_whitelist mpegts\n`).join(''));
      await ffmpeg(['-xerror', '-f', 'concat', '-safe', '0', ...mediaInput(list, 'concat'), '-map', '0', '-c', 'copy', '-f', 'mpegts', dest], ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS);
    }
  }
}

/** A track's segment files in runs: MPEG-TS splits at discontinuities, anything else is one run. */
function runsOf(track: SegmentedTrack, paths: string[]): string[][] {
  return track.container === 'mpegts' ? splitRuns(paths, track.segments.map((s) => s.discontinuity === true)) : [paths];
}

/** Files appended into one, streamed. */
async function append(dest: string, paths: string[]): Promise<void> {
  await writeFile(dest, Buffer.alloc(0));
  for (const path of paths) await pipeline(createReadStream(path), createWriteStream(dest, { flags: 'a' }));
}

/** Consecutive segments between discontinuities. */
function splitRuns(paths: string[], startsRun: boolean[]): string[][] {
  const runs: string[][] = [];
  paths.forEach((path, i) => (i === 0 || startsRun[i] ? runs.push([path]) : runs.at(-1)!.push(path)));
  return runs;
}
