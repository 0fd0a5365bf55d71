import { Parser, type Manifest } from 'm3u8-parser';
import type { Config } from './config.js';
import { TooLargeError } from './errors.js';
import { safeFetch, statusError } from './http.js';

const MAX_PLAYLIST_BYTES = 4 * 1024 * 1024;

/** Fetches a playlist through the egress policy, refusing one larger than any real playlist. */
async function fetchPlaylist(config: Config, url: string): Promise<{ manifest: Manifest; url: string }> {
  const { response, url: finalUrl } = await safeFetch(config, url);
  if (response.status !== 200) {
    await response.body?.cancel();
    throw statusError(response.status, finalUrl);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > MAX_PLAYLIST_BYTES) throw new TooLargeError(`the playlist ${finalUrl} is larger than ${MAX_PLAYLIST_BYTES} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  const parser = new Parser();
  parser.push(Buffer.concat(chunks).toString('utf8'));
  parser.end();
  return { manifest: parser.manifest, url: finalUrl };
}

export interface HlsSegment {
  /** Absolute URL. */
  uri: string;
  duration: number;
  sequence: number;
  byterange?: { offset: number; length: number };
  key?: { method: string; uri?: string; iv?: Buffer };
  map?: { uri: string; byterange?: { offset: number; length: number } };
}

export interface HlsPlaylist {
  /** The media playlist that is fetched (the chosen variant of a master). */
  url: string;
  segments: HlsSegment[];
  durationSeconds: number;
}

/** The best variant: highest bandwidth among those within the height cap (or the smallest when none fits). */
function chooseVariant(variants: NonNullable<Manifest['playlists']>, maxHeight: number) {
  const byBandwidth = [...variants].sort((a, b) => (b.attributes.BANDWIDTH ?? 0) - (a.attributes.BANDWIDTH ?? 0));
  const fits = byBandwidth.filter((v) => (v.attributes.RESOLUTION?.height ?? 0) <= maxHeight);
  if (fits.length) return fits[0]!;
  return byBandwidth.sort((a, b) => (a.attributes.RESOLUTION?.height ?? 0) - (b.attributes.RESOLUTION?.height ?? 0))[0]!;
}

/** An IV from the playlist (four 32-bit words), else the segment's media sequence number, as HLS specifies. */
function ivOf(words: Uint32Array | undefined, sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  if (words) words.forEach((w, i) => iv.writeUInt32BE(w >>> 0, i * 4));
  else iv.writeUInt32BE(sequence >>> 0, 12);
  return iv;
}

/**
 * Reads an HLS playlist (a master resolves to its best variant under `MEDIA_INGEST_MAX_HEIGHT`) and applies the
 * segment and duration limits before anything is downloaded. Every URL is fetched through the egress policy.
 */
export async function loadHls(config: Config, url: string): Promise<HlsPlaylist> {
  let { manifest, url: at } = await fetchPlaylist(config, url);
  const variants = manifest.playlists ?? [];
  if (variants.length) {
    const best = chooseVariant(variants, config.MEDIA_INGEST_MAX_HEIGHT);
    ({ manifest, url: at } = await fetchPlaylist(config, new URL(best.uri, at).toString()));
  }
  const first = manifest.mediaSequence ?? 0;
  const segments: HlsSegment[] = manifest.segments.map((s, i) => ({
    uri: new URL(s.uri, at).toString(),
    duration: s.duration || 0,
    sequence: first + i,
    ...(s.byterange ? { byterange: s.byterange } : {}),
    ...(s.key && s.key.method !== 'NONE'
      ? { key: { method: s.key.method, uri: s.key.uri ? new URL(s.key.uri, at).toString() : undefined, iv: ivOf(s.key.iv, first + i) } }
      : {}),
    ...(s.map ? { map: { uri: new URL(s.map.uri, at).toString(), ...(s.map.byterange ? { byterange: s.map.byterange } : {}) } } : {}),
  }));
  const durationSeconds = segments.reduce((sum, s) => sum + s.duration, 0);
  if (segments.length > config.MEDIA_INGEST_MAX_SEGMENTS) {
    throw new TooLargeError(`the playlist has ${segments.length} segments; the limit is ${config.MEDIA_INGEST_MAX_SEGMENTS}`);
  }
  if (durationSeconds > config.MEDIA_INGEST_MAX_DURATION_SECONDS) {
    throw new TooLargeError(`the playlist lasts ${Math.round(durationSeconds)} s; the limit is ${config.MEDIA_INGEST_MAX_DURATION_SECONDS} s`);
  }
  return { url: at, segments, durationSeconds };
}
