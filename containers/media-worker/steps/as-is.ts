import { open } from 'node:fs/promises';
import type { Probe } from '../tools/ffmpeg.js';

/** Codecs an MP4 carries as they are: what `-c copy` into MP4 would keep unchanged. */
const MP4_CODECS: Record<string, Set<string>> = {
  video: new Set(['h264', 'hevc', 'av1', 'mpeg4', 'vp9']),
  audio: new Set(['aac', 'mp3', 'opus', 'ac3', 'eac3', 'alac', 'flac']),
};
/** Top-level boxes read at most: a hostile file cannot make the walk long. */
const MAX_BOXES = 10_000;

/**
 * The names of an MP4's top-level boxes in order, and whether they fill the file exactly (a truncated file's last
 * box runs past its end). Hand-written: only box headers are read, and no maintained package here walks just those.
 */
export async function topLevelBoxes(path: string): Promise<{ boxes: string[]; whole: boolean }> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const header = Buffer.alloc(16);
    const boxes: string[] = [];
    let at = 0;
    while (at < size && boxes.length < MAX_BOXES) {
      const { bytesRead } = await file.read(header, 0, 16, at);
      if (bytesRead < 8) return { boxes, whole: false };
      const short = header.readUInt32BE(0);
      // 1: a 64-bit size follows the type; 0: the box runs to the end of the file.
      const length = short === 1 ? (bytesRead < 16 ? 0 : Number(header.readBigUInt64BE(8))) : short === 0 ? size - at : short;
      if (length < 8) return { boxes, whole: false };
      boxes.push(header.toString('latin1', 4, 8));
      at += length;
    }
    return { boxes, whole: at === size };
  } finally {
    await file.close();
  }
}

/**
 * Why the original cannot be `source.mp4` as it is, or null when it can: an MP4 (not QuickTime, not fragmented) whose
 * index comes before its media data and fills the file, with at most one video and one audio stream in codecs MP4
 * keeps — exactly what a remux with `+faststart` would produce, so the remux is skipped and the bytes copied in S3.
 */
export async function whyNotAsIs(path: string, probe: Probe): Promise<string | null> {
  const format = probe.format.format_name ?? 'unknown';
  if (!format.split(',').includes('mp4')) return `the original is ${format}, not MP4`;
  if (probe.format.tags?.major_brand?.trim() === 'qt') return 'the original is a QuickTime file';
  const kinds = probe.streams.map((s) => (s.disposition?.attached_pic ? 'cover art' : (s.codec_type ?? 'unknown')));
  for (const kind of ['video', 'audio']) {
    if (kinds.filter((k) => k === kind).length > 1) return `the original has more than one ${kind} stream`;
  }
  const other = kinds.find((k) => k !== 'video' && k !== 'audio');
  if (other) return `the original has a ${other} stream`;
  const foreign = probe.streams.find((s) => !MP4_CODECS[s.codec_type!]?.has(s.codec_name ?? ''));
  if (foreign) return `the original's ${foreign.codec_name ?? 'unknown'} ${foreign.codec_type} is not carried in MP4 as it is`;
  const { boxes, whole } = await topLevelBoxes(path);
  if (!whole) return "the original's boxes do not fill the file (truncated, or bytes after its end)";
  if (boxes.includes('moof')) return 'the original is a fragmented MP4';
  const moov = boxes.indexOf('moov');
  const mdat = boxes.indexOf('mdat');
  if (moov < 0 || mdat < 0) return 'the original has no index (moov) or no media data (mdat)';
  if (moov > mdat) return 'its index (moov) comes after the media data';
  return null;
}
