import { createDecipheriv } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SourceUnavailableError, TooLargeError, UnsupportedSourceError } from '../../../core/errors.js';
import { bodyError, safeFetch, statusError } from '../../../core/http.js';
import { inLanes } from '../../../core/lanes.js';
import { type Budget, downloadBudget, readBody } from '../../../core/limits.js';
import { retry } from '../../../core/retry.js';
import type { ByteRange, SegmentedTrack } from '../../../core/playlist.js';
import type { StepContext } from '../context.js';
import type { PartStore } from '../parts.js';
import { ffmpeg } from '../tools/ffmpeg.js';

const SEGMENT_ATTEMPTS = 3;

/** A byte budget and deadline shared by every track of one download. */
export function budget(ctx: StepContext): Budget {
  return downloadBudget(ctx.config);
}

/** One resource (segment, key, init section) through the egress policy, whole, retried when the connection fails. */
async function fetchBytes(ctx: StepContext, url: string, range: ByteRange | undefined, budget: Budget): Promise<Buffer> {
  const headers: Record<string, string> = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {};
  return retry(
    async () => {
      const { response, url: at } = await safeFetch(ctx.config, url, { headers, signal: budget.signal });
      if (response.status !== 200 && response.status !== 206) {
        await response.body?.cancel();
        throw statusError(response.status, at);
      }
      try {
        return await readBody(response.body, Infinity, { onBytes: budget.count });
      } catch (err) {
        if (err instanceof TooLargeError) throw err;
        throw bodyError(err, at);
      }
    },
    { attempts: SEGMENT_ATTEMPTS, retryable: (err) => err instanceof SourceUnavailableError, delayMs: (attempt) => 200 * attempt },
  );
}

/** A track to fetch: where it goes and where its finished segments are kept. */
export interface TrackJob {
  track: SegmentedTrack;
  dest: string;
  store?: PartStore;
}

/**
 * Fetches segmented tracks (HLS, DASH) without re-encoding: the segments of all tracks in one pool of parallel lanes,
 * each kept in its track's part store so a retried worker fetches only the missing ones; AES-128 decrypted; then each
 * track joined: a continuous stream by appending its segments (behind the init section, if any), MPEG-TS runs
 * separated by discontinuities by ffmpeg's concat demuxer.
 */
export async function downloadTracks(ctx: StepContext, jobs: TrackJob[], budget: Budget): Promise<void> {
  const keys = new Map<string, Promise<Buffer>>();
  const keyFor = (uri: string) => {
    if (!keys.has(uri)) keys.set(uri, fetchBytes(ctx, uri, undefined, budget));
    return keys.get(uri)!;
  };
  const work: Array<{ job: number; index: number; path: string }> = [];
  const kept: Array<Map<number, number>> = [];
  for (const [j, job] of jobs.entries()) {
    if (!job.track.segments.length) throw new UnsupportedSourceError('the playlist has no segments');
    const dir = join(ctx.scratch, `segments-${j}`);
    await mkdir(dir, { recursive: true });
    kept.push((await job.store?.list()) ?? new Map());
    job.track.segments.forEach((_, index) => work.push({ job: j, index, path: join(dir, `${String(index).padStart(6, '0')}.seg`) }));
  }

  // Progress: bytes so far, and the total estimated from the media seconds they cover (exact once all are in).
  const seconds = (w: (typeof work)[number]) => jobs[w.job]!.track.segments[w.index]!.duration || 1;
  const totalSeconds = work.reduce((sum, w) => sum + seconds(w), 0);
  let doneSeconds = 0;
  const done = (w: (typeof work)[number]) => {
    doneSeconds += seconds(w);
    ctx.progress(budget.received(), Math.round((budget.received() * totalSeconds) / doneSeconds));
  };

  await inLanes(work, ctx.input.options.connections, async (item) => {
    const { job: j, index, path } = item;
    const { track, store } = jobs[j]!;
    if (store && kept[j]!.has(index)) {
      const file = await open(path, 'w');
      try {
        budget.count(await store.restore(index, file, 0));
      } finally {
        await file.close();
      }
      return done(item);
    }
    const segment = track.segments[index]!;
    let data = await fetchBytes(ctx, segment.uri, segment.byterange, budget);
    if (segment.key) {
      const decipher = createDecipheriv('aes-128-cbc', await keyFor(segment.key.uri), segment.key.iv);
      data = Buffer.concat([decipher.update(data), decipher.final()]);
    }
    await writeFile(path, data);
    await store?.save(index, path, 0, data.length - 1);
    done(item);
  });

  for (const [j, { track, dest }] of jobs.entries()) {
    const paths = work.filter((w) => w.job === j).map((w) => w.path);
    const init = track.init ? await fetchBytes(ctx, track.init.uri, track.init.byterange, budget) : undefined;
    const runs = track.container === 'mpegts' ? splitRuns(paths, track.segments.map((s) => s.discontinuity === true)) : [paths];
    if (runs.length === 1) {
      // One continuous stream (fMP4 or WebM behind its init section, or MPEG-TS): its segments appended are a valid file.
      await append(dest, runs[0]!, init);
    } else {
      // Across discontinuities timestamps and continuity counters jump: ffmpeg's concat demuxer joins the runs.
      const runFiles = await Promise.all(runs.map(async (run, r) => {
        const file = join(ctx.scratch, `segments-${j}`, `run-${r}.ts`);
        await append(file, run);
        return file;
      }));
      const list = join(ctx.scratch, `segments-${j}`, 'list.txt');
      await writeFile(list, runFiles.map((p) => `file '${p}'`).join('\n') + '\n');
      await ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', '-f', 'mpegts', dest], ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS);
    }
  }
}

/** Files appended into one, after an optional header (the init section). */
async function append(dest: string, paths: string[], header?: Buffer): Promise<void> {
  await writeFile(dest, header ?? Buffer.alloc(0));
  for (const path of paths) await pipeline(createReadStream(path), createWriteStream(dest, { flags: 'a' }));
}

/** Consecutive segments between discontinuities. */
function splitRuns(paths: string[], startsRun: boolean[]): string[][] {
  const runs: string[][] = [];
  paths.forEach((path, i) => (i === 0 || startsRun[i] ? runs.push([path]) : runs.at(-1)!.push(path)));
  return runs;
}
