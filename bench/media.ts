/**
 * bench/media — the merge step's operations against the plain ffmpeg commands a user would run by hand, on the same
 * generated file, median of several runs each, reported as ratios (target ≤ 1.1); and the real-time factor of the
 * offline transcription engine, with its peak memory (`--speech-minutes 60` shows a one-hour recording).
 * Run: `node --import tsx bench/media.ts [--runs N] [--minutes M] [--speech-minutes S]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { extractAudio, makeSourceMp4, makeThumbnail } from '../containers/media-worker/steps/merge.js';
import { pocketsphinxEngine } from '../containers/media-worker/transcription/pocketsphinx.js';
import { ff as ffmpeg } from '../test/fixtures/media.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, minutes: { type: 'string', default: '5' }, 'speech-minutes': { type: 'string', default: '1' } },
});
const runs = Number(values.runs);
const minutes = Number(values.minutes);
const TIMEOUT = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'bench-media-'));

async function median(fn: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

process.stderr.write(`making a ${minutes}-minute 1280x720 H.264/AAC file…\n`);
const source = join(dir, 'source.mp4');
ffmpeg('-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${minutes * 60}`, '-f', 'lavfi', '-i', `sine=frequency=440:duration=${minutes * 60}`,
  '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', source);
const duration = minutes * 60;
const rows: Array<[string, number, number]> = [];

const audioOurs = await median(() => extractAudio(source, join(dir, 'ours.wav'), 'wav', TIMEOUT));
const audioHand = await median(() => ffmpeg('-i', source, '-vn', '-ac', '1', '-ar', '16000', join(dir, 'hand.wav')));
rows.push(['audio extraction (mono 16 kHz wav)', audioOurs, audioHand]);

const remuxOurs = await median(() => makeSourceMp4([source], join(dir, 'ours.mp4'), TIMEOUT));
const remuxHand = await median(() => ffmpeg('-i', source, '-c', 'copy', '-movflags', '+faststart', join(dir, 'hand.mp4')));
rows.push(['remux to MP4 (+faststart)', remuxOurs, remuxHand]);

const thumbDir = join(dir, 'thumb');
mkdirSync(thumbDir);
const thumbOurs = await median(() => makeThumbnail(source, duration, thumbDir, join(dir, 'ours.jpg'), TIMEOUT));
const thumbHand = await median(() => ffmpeg('-ss', String(duration * 0.1), '-i', source, '-frames:v', '1', '-vf', 'scale=640:-2', join(dir, 'hand.jpg')));
rows.push(['thumbnail (5 candidates scored vs one seek)', thumbOurs, thumbHand]);

const speechMinutes = Number(values['speech-minutes']);
process.stderr.write(`making ${speechMinutes} minute(s) of speech (flite) for the real-time factor…\n`);
const text = 'The quick brown fox jumps over the lazy dog. We are reading a short story about a small boat on a quiet river. ';
// flite speaks about 8.5 of these sentences pairs a minute.
writeFileSync(join(dir, 'speech.txt'), text.repeat(Math.ceil(speechMinutes * 8.6)));
execFileSync('flite', ['-voice', 'rms', '-f', join(dir, 'speech.txt'), '-o', join(dir, 'speech-raw.wav')]);
await extractAudio(join(dir, 'speech-raw.wav'), join(dir, 'speech.wav'), 'wav', TIMEOUT);
const speechSeconds = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', join(dir, 'speech.wav')]).toString());
const psDir = join(dir, 'ps');
mkdirSync(psDir);
const engine = pocketsphinxEngine('/usr/share/pocketsphinx/model/en-us', psDir);
// Peak memory of the recognisers, sampled while they run (they are child processes).
let peakKb = 0;
const sampler = setInterval(() => {
  try {
    const rss = execFileSync('ps', ['-C', 'pocketsphinx_continuous', '-o', 'rss=']).toString().trim().split('\n').map(Number);
    peakKb = Math.max(peakKb, rss.reduce((a, b) => a + b, 0));
  } catch {
    // none running at this instant
  }
}, 250);
let segments = 0;
const psMs = await median(async () => {
  rmSync(psDir, { recursive: true, force: true });
  mkdirSync(psDir);
  segments = (await engine.transcribe(join(dir, 'speech.wav'), { timeoutMs: TIMEOUT })).segments.length;
});
clearInterval(sampler);

console.log(`\nbench/media — ${minutes}-minute 720p30 source, median of ${runs} runs, ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| operation | media-ingest | ffmpeg by hand | ratio (target ≤ 1.1) |');
console.log('| --- | --- | --- | --- |');
for (const [name, ours, hand] of rows) console.log(`| ${name} | ${ours.toFixed(0)} ms | ${hand.toFixed(0)} ms | ${(ours / hand).toFixed(2)} |`);
console.log(`\n| engine | audio | time | real-time factor | segments | peak RSS of the recognisers |\n| --- | --- | --- | --- | --- | --- |`);
console.log(
  `| pocketsphinx (en-us, 10-minute chunks, 2 cores) | ${speechSeconds.toFixed(0)} s | ${(psMs / 1000).toFixed(1)} s | ${(psMs / 1000 / speechSeconds).toFixed(3)} | ${segments} | ${(peakKb / 1024).toFixed(0)} MB |`,
);
rmSync(dir, { recursive: true, force: true });
