import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { durationOf, ffmpeg, ffprobe, mediaInput } from '../tools/ffmpeg.js';

export interface Chunk {
  path: string;
  /** Where the chunk starts in the whole recording, seconds. */
  offset: number;
}

/**
 * Cuts mono 16 kHz audio into pieces of at most `maxBytes` (as 16-bit WAV) without re-encoding, each with its offset
 * measured from the pieces before it, so segment times can be put back on the whole recording's clock.
 */
export async function splitAudio(audio: string, dir: string, maxBytes: number, timeoutMs: number): Promise<Chunk[]> {
  const bytesPerSecond = 16_000 * 2;
  // A margin for the WAV header and for cuts that land past the requested time.
  const seconds = Math.max(1, Math.floor((maxBytes * 0.9) / bytesPerSecond));
  await ffmpeg([...mediaInput(audio), '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-f', 'segment', '-segment_time', String(seconds), join(dir, 'chunk-%05d.wav')], timeoutMs);
  const names = (await readdir(dir)).filter((n) => /^chunk-\d{5}\.wav$/.test(n)).sort();
  const chunks: Chunk[] = [];
  let offset = 0;
  for (const name of names) {
    const path = join(dir, name);
    chunks.push({ path, offset });
    offset += durationOf(await ffprobe(path, timeoutMs));
  }
  return chunks;
}
