import { join } from 'node:path';
import { runTool } from '../tools/run.js';
import type { Segment, TranscriptionEngine, Word } from './transcript.js';

const WORD_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/;
const NON_SPEECH = /^(<s>|<\/s>|<sil>|\[.*\]|\+\+.*\+\+)$/i;

/** Reads `pocketsphinx_continuous -time yes` output: one utterance per `<s>` … `</s>` run of timed words. */
export function parsePocketsphinx(output: string): Segment[] {
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
    words.push({ text: token!.replace(/\(\d+\)$/, ''), start: Number(start), end: Number(end), confidence: Number(confidence) });
  }
  flush();
  return segments;
}

/** Offline English recognition with Debian's pocketsphinx and its en-us model. */
export function pocketsphinxEngine(modelDir: string): TranscriptionEngine {
  return {
    name: 'pocketsphinx',
    async transcribe(audioPath, { timeoutMs }) {
      const { stdout } = await runTool(
        'pocketsphinx_continuous',
        [
          '-infile', audioPath,
          '-time', 'yes',
          '-logfn', '/dev/null',
          '-hmm', join(modelDir, 'en-us'),
          '-lm', join(modelDir, 'en-us.lm.bin'),
          '-dict', join(modelDir, 'cmudict-en-us.dict'),
        ],
        { timeoutMs },
      );
      return { engine: 'pocketsphinx', language: 'en', segments: parsePocketsphinx(stdout) };
    },
  };
}
