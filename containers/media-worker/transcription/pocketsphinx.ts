import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { inLanes } from '../../../core/lanes.js';
import { splitAudio, type Chunk } from './chunks.js';
import { runTool } from '../tools/run.js';
import type { Segment, TranscriptionEngine, Word } from './transcript.js';

const WORD_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/;
const NON_SPEECH = /^(<s>|<\/s>|<sil>|\[.*\]|\+\+.*\+\+)$/i;
/** Ten minutes of 16 kHz 16-bit mono per chunk: memory stays flat however long the recording is. */
const CHUNK_BYTES = 10 * 60 * 16_000 * 2;

/** Reads `pocketsphinx_continuous -time yes` output: one utterance per `<s>` … `</s>` run of timed words. */
export function parsePocketsphinx(output: string, offset = 0): Segment[] {
  const segments: Segment[] = [];
  let words: Word[] = [];
  const flush = () => {
    if (words.length) {
      segments.push({ start: words[0]!.start, end: words.at(-1)!.end, text: words.map((w) => w.text).join(' '), words });
    }
    words = [];
  };
  for (const line of output.split('\n')) {
    const m = WORD_LINE.exec(line.trim());
    if (!m) continue;
    const [, token, start, end, confidence] = m;
    if (token === '<s>') flush();
    if (NON_SPEECH.test(token!)) {
      if (token === '</s>') flush();
      continue;
    }
    // Alternate pronunciations are written word(2).
    words.push({ text: token!.replace(/\(\d+\)$/, ''), start: Number(start) + offset, end: Number(end) + offset, confidence: Number(confidence) });
  }
  flush();
  return segments;
}

/** Offline English recognition with Debian's pocketsphinx and its en-us model, chunk by chunk on every core. */
export function pocketsphinxEngine(modelDir: string, scratch: string): TranscriptionEngine {
  const recognise = async (chunk: Chunk, timeoutMs: number) => {
    const { stdout } = await runTool(
      'pocketsphinx_continuous',
      ['-infile', chunk.path, '-time', 'yes', '-logfn', '/dev/null', '-hmm', join(modelDir, 'en-us'), '-lm', join(modelDir, 'en-us.lm.bin'), '-dict', join(modelDir, 'cmudict-en-us.dict')],
      { timeoutMs },
    );
    return parsePocketsphinx(stdout, chunk.offset);
  };
  return {
    name: 'pocketsphinx',
    async transcribe(audioPath, { timeoutMs }) {
      // Also turns FLAC into the WAV pocketsphinx reads; one chunk for anything up to ten minutes.
      const dir = join(scratch, 'pocketsphinx');
      await mkdir(dir, { recursive: true });
      const chunks = await splitAudio(audioPath, dir, CHUNK_BYTES, timeoutMs);
      const parts = await inLanes(chunks, availableParallelism(), (chunk) => recognise(chunk, timeoutMs));
      return { engine: 'pocketsphinx', language: 'en', segments: parts.flat() };
    },
  };
}
