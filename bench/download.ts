/**
 * bench/download — the extract step's download against what a user would run instead, side by side in one run, on one
 * loopback server that caps each connection's bandwidth and delays each request like a CDN edge (bench/throttled-server):
 * a direct MP4 against curl and `aria2c -x16 -s16 -k1M`, its HLS version (~150 segments) against `yt-dlp -N 16`;
 * medians of several runs, reported as ratios; and the extract step's peak RSS for the MP4 and for a ~10× larger one.
 * Run: `node --import tsx bench/download.ts [--runs 3] [--mb 300] [--big-gb 3] [--rate 4000000] [--latency-ms 40] [--connections 16]`.
 * The generated media is cached in $TMPDIR/media-ingest-bench-download-<mb>mb (delete it to regenerate).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSync } from 'esbuild';
import { NODE_BUNDLE } from '../cdk/bundling.js';
import { median, startThrottledServer } from './harness.js';
import { ff as ffmpeg } from '../test/fixtures/media.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    mb: { type: 'string', default: '300' },
    'big-gb': { type: 'string', default: '3' },
    rate: { type: 'string', default: '4000000' },
    'latency-ms': { type: 'string', default: '40' },
    connections: { type: 'string', default: '16' },
  },
});
const runs = Number(values.runs);
const rate = Number(values.rate);
const connections = Number(values.connections);
const cache = join(tmpdir(), `media-ingest-bench-download-${values.mb}mb`);
const work = join(tmpdir(), 'media-ingest-bench-work');
const say = (line: string) => process.stderr.write(`${line}\n`);
const size = (path: string) => statSync(path).size;

/** ~`mb` MB of 720p H.264 (noise keeps the bit rate up), a keyframe every 35 frames for ~150 HLS segments. */
function prepareMedia(): { mp4: string; big: string; hlsSegments: number } {
  mkdirSync(join(cache, 'hls'), { recursive: true });
  const mp4 = join(cache, 'source.mp4');
  if (!existsSync(mp4)) {
    const seconds = Math.round(Number(values.mb) / 1.75);
    say(`making a ~${values.mb} MB MP4 (${seconds} s of 720p)…`);
    ffmpeg('-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=duration=${seconds}`,
      '-vf', 'noise=alls=20:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-g', '35', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', mp4);
  }
  if (!existsSync(join(cache, 'hls', 'index.m3u8'))) {
    say('making its HLS version…');
    ffmpeg('-i', mp4, '-c', 'copy', '-f', 'hls', '-hls_time', '1.1', '-hls_playlist_type', 'vod', '-hls_segment_filename', join(cache, 'hls', 'seg%04d.ts'), join(cache, 'hls', 'index.m3u8'));
  }
  const big = join(cache, 'big.mp4');
  const loops = Math.max(1, Math.round((Number(values['big-gb']) * 1e9) / size(mp4)));
  if (!existsSync(big)) {
    say(`making a ~${values['big-gb']} GB MP4 (${loops} × the source, remuxed)…`);
    ffmpeg('-stream_loop', String(loops - 1), '-i', mp4, '-c', 'copy', big);
  }
  return { mp4, big, hlsSegments: readdirSync(join(cache, 'hls')).filter((f) => f.endsWith('.ts')).length };
}

/** Runs a command to completion; its wall time in ms. */
function timed(file: string, args: string[]): number {
  const t = performance.now();
  execFileSync(file, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: work });
  return performance.now() - t;
}

/** The runner bundled by esbuild exactly as the worker image bundles main.ts, so its memory is what Fargate would see. */
function bundleRunner(): string {
  const out = join(cache, 'extract-runner.mjs');
  buildSync({ ...NODE_BUNDLE, entryPoints: [join(import.meta.dirname, 'extract-runner.ts')], outfile: out });
  return out;
}

/** The extract step's download in its own process: wall time (ms, measured by the runner) and peak RSS (KB). */
function ours(kind: 'direct' | 'hls', url: string): { ms: number; maxRssKb: number } {
  const out = execFileSync(process.execPath, [runner, kind, url, join(work, 'ours'), String(connections)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.toString()) as { ms: number; maxRssKb: number };
}

const fresh = () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
};

const media = prepareMedia();
const runner = bundleRunner();
const server = await startThrottledServer(cache, String(rate), values['latency-ms']!);
const bytes = size(media.mp4);
const floorMs = (bytes / (connections * rate)) * 1000;
say(`direct: ${(bytes / 1e6).toFixed(1)} MB; HLS: ${media.hlsSegments} segments; cap ${rate / 1e6} MB/s per connection, ${values['latency-ms']} ms per request; ${connections} connections; ${runs} runs`);

const times = { ours: [] as number[], curl: [] as number[], aria2c: [] as number[], oursHls: [] as number[], ytdlp: [] as number[] };
const rss: number[] = [];
for (let i = 1; i <= runs; i++) {
  say(`run ${i}/${runs}`);
  fresh();
  const direct = ours('direct', server.url('source.mp4'));
  times.ours.push(direct.ms);
  rss.push(direct.maxRssKb);
  if (size(join(work, 'ours', 'original')) !== bytes) throw new Error('our download is not the whole file');
  fresh();
  times.aria2c.push(timed('aria2c', [`-x${connections}`, `-s${connections}`, '-k1M', '--file-allocation=none', '--allow-overwrite=true', '--quiet', '-d', work, '-o', 'aria.mp4', server.url('source.mp4')]));
  fresh();
  times.curl.push(timed('curl', ['-s', '-o', join(work, 'curl.mp4'), server.url('source.mp4')]));
  fresh();
  times.oursHls.push(ours('hls', server.url('hls/index.m3u8')).ms);
  fresh();
  times.ytdlp.push(timed('yt-dlp', ['--ignore-config', '-q', '-N', String(connections), '-o', join(work, 'ytdlp.%(ext)s'), server.url('hls/index.m3u8')]));
}
fresh();
say('peak memory on the large file…');
const big = ours('direct', server.url('big.mp4'));
fresh();
server.stop();

const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<keyof typeof times, number>;
const mbps = (ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(1);
const peakMb = Math.max(...rss) / 1024;
const bigMb = big.maxRssKb / 1024;
const rows = [
  `| direct ${(bytes / 1e6).toFixed(0)} MB, extract step (${connections} connections) | ${(m.ours / 1000).toFixed(2)} s | ${mbps(m.ours)} MB/s | — |`,
  `| direct, \`aria2c -x${connections} -s${connections} -k1M\` | ${(m.aria2c / 1000).toFixed(2)} s | ${mbps(m.aria2c)} MB/s | ours/aria2c throughput **${(m.aria2c / m.ours).toFixed(2)}** |`,
  `| direct, \`curl\` (one connection) | ${(m.curl / 1000).toFixed(2)} s | ${mbps(m.curl)} MB/s | ours/curl **${(m.curl / m.ours).toFixed(2)}** |`,
  `| direct, floor (size ÷ (connections × cap)) | ${(floorMs / 1000).toFixed(2)} s | ${mbps(floorMs)} MB/s | ours/floor **${(floorMs / m.ours).toFixed(3)}** |`,
  `| HLS ${media.hlsSegments} segments, extract step (joined) | ${(m.oursHls / 1000).toFixed(2)} s | ${mbps(m.oursHls)} MB/s | — |`,
  `| HLS, \`yt-dlp -N ${connections}\` | ${(m.ytdlp / 1000).toFixed(2)} s | ${mbps(m.ytdlp)} MB/s | ours/yt-dlp throughput **${(m.ytdlp / m.oursHls).toFixed(2)}** |`,
];
process.stdout.write(
  [
    `| case | median time | throughput | ratio |`,
    `| --- | --- | --- | --- |`,
    ...rows,
    '',
    `extract step peak RSS: ${peakMb.toFixed(0)} MB on ${(bytes / 1e6).toFixed(0)} MB, ${bigMb.toFixed(0)} MB on ${(size(media.big) / 1e9).toFixed(2)} GB (ratio ${(bigMb / peakMb).toFixed(2)})`,
    `all times: ${JSON.stringify(times, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
    '',
  ].join('\n'),
);
