export interface Word {
  start: number;
  end: number;
  text: string;
  confidence?: number;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
  words?: Word[];
}

export interface Transcript {
  engine: string;
  language: string;
  durationSeconds: number;
  segments: Segment[];
}

/** A speech-to-text engine: audio file in, timed segments out. */
export interface TranscriptionEngine {
  readonly name: string;
  transcribe(audioPath: string, options: { timeoutMs: number }): Promise<Omit<Transcript, 'durationSeconds'>>;
}

/** Longest a cue may last: longer segments are split at word boundaries, so subtitles stay readable. */
export const MAX_CUE_SECONDS = 7;

/** Splits segments longer than `maxSeconds` at word boundaries (segments without word times are kept whole). */
export function splitLongSegments(segments: Segment[], maxSeconds = MAX_CUE_SECONDS): Segment[] {
  const out: Segment[] = [];
  for (const segment of segments) {
    if (segment.end - segment.start <= maxSeconds || !segment.words?.length) {
      out.push(segment);
      continue;
    }
    let words: Word[] = [];
    const flush = () => {
      if (words.length) out.push({ start: words[0]!.start, end: words.at(-1)!.end, text: words.map((w) => w.text).join(' '), words });
      words = [];
    };
    for (const word of segment.words) {
      if (words.length && word.end - words[0]!.start > maxSeconds) flush();
      words.push(word);
    }
    flush();
  }
  return out;
}

function clock(seconds: number, separator: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

export function toText(t: Transcript): string {
  return t.segments.map((s) => s.text).join('\n') + (t.segments.length ? '\n' : '');
}

export function toSrt(t: Transcript): string {
  return t.segments
    .map((s, i) => `${i + 1}\n${clock(s.start, ',')} --> ${clock(s.end, ',')}\n${s.text}\n`)
    .join('\n');
}

export function toVtt(t: Transcript): string {
  return ['WEBVTT', '', ...t.segments.map((s) => `${clock(s.start, '.')} --> ${clock(s.end, '.')}\n${s.text}\n`)].join('\n');
}
