/**
 * bench/job — whole jobs through the local runtime, as a user runs them, against what a user would do by hand, side by
 * side in one run on the throttled loopback server (bench/throttled-server: a per-connection cap and a per-request
 * delay, like a CDN edge):
 * - a ~`--mb` MB faststart MP4 job (download, transcode) against `aria2c -x16 -s16`, then ffmpeg audio and thumbnail;
 * - its extract step (the checkpoint's duration) against aria2c alone;
 * - the same media as HLS (extract) against `yt-dlp -N 16`; behind an HTML page (extract) against
 *   `yt-dlp --downloader aria2c`;
 * - a 6-s clip job, submission to SUCCEEDED;
 * and the workers' peak RSS, the bytes the job moved through S3 per source byte, and the runtime's own time per state.
 * Run: `node --import tsx bench/job.ts [--runs 3] [--mb 200] [--rate 4000000] [--latency-ms 40] [--connections 16]`.
 * Media is cached in $TMPDIR/media-ingest-bench-job-<mb>mb (delete it to regenerate).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JobRecord } from '../core/job.js';
import { LocalRuntime } from '../local/runtime.js';
import { ff, makeClip } from '../test/fixtures/media.js';
import { median, startThrottledServer } from './harness.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    mb: { type: 'string', default: '200' },
    rate: { type: 'string', default: '4000000' },
    'latency-ms': { type: 'string', default: '40' },
    connections: { type: 'string', default: '16' },
  },
});
const runs = Number(values.runs);
const connections = Number(values.connections);
const cache = join(tmpdir(), `media-ingest-bench-job-${values.mb}mb`);
const work = join(tmpdir(), 'media-ingest-bench-job-work');
const say = (line: string) => process.stderr.write(`${line}\n`);

/** The media, made once: a faststart 720p MP4 (noise keeps the bit rate up), its HLS version, a page embedding it, a 6-s clip. */
function prepareMedia(): number {
  const mp4 = join(cache, 'media', 'big.mp4');
  if (!existsSync(mp4)) {
    mkdirSync(join(cache, 'media'), { recursive: true });
    const seconds = Math.round(Number(values.mb) / 1.75);
    say(`making a ~${values.mb} MB MP4 (${seconds} s of 720p)…`);
    ff('-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=duration=${seconds}`, '-vf', 'noise=alls=20:allf=t',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', mp4);
    mkdirSync(join(cache, 'hls'), { recursive: true });
    ff('-i', mp4, '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_filename', join(cache, 'hls', 'seg%04d.ts'), join(cache, 'hls', 'index.m3u8'));
    writeFileSync(join(cache, 'watch.html'), '<!doctype html><html><head><title>Bench</title></head><body><video controls src="/media/big.mp4"></video></body></html>');
    makeClip(join(cache, 'media'), 'clip.mp4', { seconds: 6 });
  }
  return statSync(mp4).size;
}

/** A command to completion in a fresh folder; its wall time in ms. */
function timed(file: string, ...args: string[]): number {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const t = performance.now();
  execFileSync(file, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: work });
  return performance.now() - t;
}

/** What a user types instead of a job: aria2c, then the audio and the thumbnail with ffmpeg; each part's time. */
function byHand(url: string): { download: number; whole: number } {
  const download = timed('aria2c', '-q', '-x16', '-s16', '-k1M', '--allow-overwrite=true', '-o', 'in.mp4', url);
  const t = performance.now();
  execFileSync('ffmpeg', ['-v', 'error', '-i', 'in.mp4', '-vn', '-ac', '1', '-ar', '16000', 'audio.wav'], { cwd: work });
  execFileSync('ffmpeg', ['-v', 'error', '-ss', '10', '-i', 'in.mp4', '-frames:v', '1', 'thumb.jpg'], { cwd: work });
  return { download, whole: download + performance.now() - t };
}

interface JobRun {
  ms: number;
  extractMs: number;
  s3Bytes: number;
  record: JobRecord;
}

async function job(runtime: LocalRuntime, url: string, actions = ['download', 'transcode']): Promise<JobRun> {
  const before = runtime.s3Traffic;
  const t = performance.now();
  const record = await runtime.finish(await runtime.submit({ source: { type: 'http', url }, actions }, connections));
  const ms = performance.now() - t;
  if (record.status !== 'SUCCEEDED') throw new Error(`job on ${url} ended ${record.status}: ${JSON.stringify(record.error)}`);
  const after = runtime.s3Traffic;
  const extractMs = (record.checkpoints.extract as { durationMs: number }).durationMs;
  return { ms, extractMs, s3Bytes: after.up - before.up + after.down - before.down, record };
}

/** The largest peak RSS a worker logged for a step (`step resources`). */
function workerPeakRss(dataDir: string): number {
  let peak = 0;
  for (const f of readdirSync(join(dataDir, 'logs')).filter((n) => n.startsWith('worker'))) {
    for (const m of readFileSync(join(dataDir, 'logs', f), 'utf8').matchAll(/"maxRssBytes":(\d+)/g)) peak = Math.max(peak, Number(m[1]));
  }
  return peak;
}

/** The runtime's own time per state, from the execution histories: gaps between states, and non-Task states' whole time. */
function overheadPerState(dataDir: string): number[] {
  const out: number[] = [];
  for (const f of readdirSync(join(dataDir, 'executions'))) {
    const { events } = JSON.parse(readFileSync(join(dataDir, 'executions', f), 'utf8')) as { events: Array<{ type: string; timestamp: number; state?: { type: string } }> };
    let exited: number | undefined;
    let entered: { at: number; type: string } | undefined;
    for (const e of events) {
      if (e.type === 'StateEntered') {
        if (exited !== undefined) out.push(e.timestamp - exited);
        entered = { at: e.timestamp, type: e.state?.type ?? 'Task' };
      } else if (e.type === 'StateExited') {
        if (entered && entered.type !== 'Task') out.push(e.timestamp - entered.at);
        exited = e.timestamp;
      }
    }
  }
  return out;
}

const size = prepareMedia();
const server = await startThrottledServer(cache, values.rate!, values['latency-ms']!);
const dataDir = join(tmpdir(), 'media-ingest-bench-job-data');
rmSync(dataDir, { recursive: true, force: true });
const runtime = await LocalRuntime.start({ dataDir, allowHosts: ['127.0.0.1'] });
const rows: Record<string, { ours: number[]; theirs: number[] }> = {};
const add = (name: string, ours: number, theirs: number) => {
  rows[name] ??= { ours: [], theirs: [] };
  rows[name].ours.push(ours);
  rows[name].theirs.push(theirs);
};
const moved: number[] = [];
const clips: number[] = [];
try {
  // One job first, unmeasured: the workflow's threads and the workers start.
  await job(runtime, server.url('media/clip.mp4'));
  for (let i = 0; i < runs; i++) {
    say(`run ${i + 1} of ${runs}…`);
    const direct = await job(runtime, server.url('media/big.mp4'));
    const hand = byHand(server.url('media/big.mp4'));
    add('whole job (download, transcode) vs aria2c + ffmpeg audio and thumbnail', direct.ms, hand.whole);
    add('its extract step vs aria2c', direct.extractMs, hand.download);
    moved.push(direct.s3Bytes / size);
    const hls = await job(runtime, server.url('hls/index.m3u8'), ['download']);
    add('HLS extract vs yt-dlp -N 16', hls.extractMs, timed('yt-dlp', '-q', '-N', '16', '-o', 'out.%(ext)s', server.url('hls/index.m3u8')));
    const page = await job(runtime, server.url('watch.html'), ['download']);
    add('platform page extract vs yt-dlp --downloader aria2c', page.extractMs, timed('yt-dlp', '-q', '--downloader', 'aria2c', '-o', 'out.%(ext)s', server.url('watch.html')));
    clips.push((await job(runtime, server.url('media/clip.mp4'))).ms);
  }
} finally {
  await runtime.stop();
  server.stop();
}
const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;
console.log(`| what (${(size / 1e6).toFixed(0)} MB, medians of ${runs}) | media-ingest | by hand | ratio |\n| --- | --- | --- | --- |`);
for (const [name, { ours, theirs }] of Object.entries(rows)) console.log(`| ${name} | ${ms(median(ours))} | ${ms(median(theirs))} | ${(median(ours) / median(theirs)).toFixed(2)} |`);
console.log(`6-s clip job, submission to SUCCEEDED: ${ms(median(clips))} (every run: ${clips.map(ms).join(', ')})`);
console.log(`bytes through S3 per source byte (whole job): ${median(moved).toFixed(2)}`);
console.log(`workers' peak RSS: ${(workerPeakRss(dataDir) / 2 ** 20).toFixed(0)} MiB`);
const overhead = overheadPerState(dataDir);
console.log(`runtime's own time per state: median ${median(overhead)} ms, 90th percentile ${[...overhead].sort((a, b) => a - b)[Math.floor(overhead.length * 0.9)]} ms over ${overhead.length}`);
for (const [name, { ours, theirs }] of Object.entries(rows)) console.log(`every run, ${name}: ours ${ours.map(Math.round).join('/')} ms, theirs ${theirs.map(Math.round).join('/')} ms`);
