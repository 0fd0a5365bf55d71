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
