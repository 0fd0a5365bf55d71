import { Parser, type Manifest } from 'm3u8-parser';
import type { Config } from './config.js';
import { TooLargeError, UnsupportedSourceError } from './errors.js';
import { safeFetch, statusError } from './http.js';
import { checkDuration, checkSegments, readBody } from './limits.js';

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Fetches a playlist or manifest through the egress policy, refusing one larger than any real one. */
export async function fetchManifest(config: Config, url: string): Promise<{ text: string; url: string }> {
  const { response, url: finalUrl } = await safeFetch(config, url);
  if (response.status !== 200) {
    await response.body?.cancel();
    throw statusError(response.status, finalUrl);
  }
  const refuse = () => new TooLargeError(`the manifest ${finalUrl} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  const body = await readBody(response.body, MAX_MANIFEST_BYTES, { refuse });
  return { text: body.toString('utf8'), url: finalUrl };
}

/** The segment and duration limits, applied before anything is downloaded. */
export function checkLimits(config: Config, segments: number, durationSeconds: number): void {
  checkSegments(config, segments);
  checkDuration(config.MEDIA_INGEST_MAX_DURATION_SECONDS, durationSeconds, 'the playlist');
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface MediaSegment {
  /** Absolute URL. */
  uri: string;
  duration: number;
  byterange?: ByteRange;
  /** AES-128 (HLS): where the key is and the IV to use. */
  key?: { uri: string; iv: Buffer };
  /** HLS `EXT-X-DISCONTINUITY`: timestamps and encoding may change from this segment on. */
  discontinuity?: boolean;
}

/** One stream as segments: the unit of parallel fetching and of resume. */
export interface SegmentedTrack {
  segments: MediaSegment[];
  /** Initialisation section (fMP4 `EXT-X-MAP`, DASH `Initialization`), written before the segments. */
  init?: { uri: string; byterange?: ByteRange };
  /** fMP4/WebM fragments are appended behind their init section; MPEG-TS runs between discontinuities are joined by ffmpeg. */
  container: 'fragments' | 'mpegts';
  durationSeconds: number;
}

/** What an HLS variant and a DASH representation both say of themselves (the parsers use the same shape). */
interface Rated {
  attributes: { BANDWIDTH?: number; RESOLUTION?: { height: number } };
}

/** The best of several renditions: highest bandwidth within the height cap, else the smallest picture. */
export function bestWithin<T extends Rated>(renditions: T[], maxHeight: number): T | undefined {
  const height = (r: T) => r.attributes.RESOLUTION?.height ?? 0;
  const byBandwidth = [...renditions].sort((a, b) => (b.attributes.BANDWIDTH ?? 0) - (a.attributes.BANDWIDTH ?? 0));
  return byBandwidth.find((r) => height(r) <= maxHeight) ?? byBandwidth.sort((a, b) => height(a) - height(b))[0];
}

/** An IV from the playlist (four 32-bit words), else the segment's media sequence number, as HLS specifies. */
function ivOf(words: Uint32Array | undefined, sequence: number): Buffer {
  const iv = Buffer.alloc(16);
  if (words) words.forEach((w, i) => iv.writeUInt32BE(w >>> 0, i * 4));
  else iv.writeUInt32BE(sequence >>> 0, 12);
  return iv;
}

/** Lines that name a resource (a segment or a variant): each one becomes an object when parsed. */
const uriLines = (text: string) => text.split('\n').filter((line) => line.trim() && !line.startsWith('#')).length;

async function parseHls(config: Config, url: string): Promise<{ manifest: Manifest; url: string }> {
  const { text, url: at } = await fetchManifest(config, url);
  // Counted before parsing, so a playlist of a million one-byte lines is refused with memory flat.
  checkSegments(config, uriLines(text));
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return { manifest: parser.manifest, url: at };
}

/** One media playlist as a track, its segments resolved, limits applied. */
function trackOf(config: Config, manifest: Manifest, at: string): SegmentedTrack {
  if (manifest.playlists?.length) throw new UnsupportedSourceError('a variant of the master playlist is itself a master playlist');
  if (!manifest.segments.length) throw new UnsupportedSourceError('the playlist has no segments');
  // A playlist that may still grow (no EXT-X-ENDLIST, not VOD) is a live window, not a whole recording.
  if (!manifest.endList && manifest.playlistType !== 'VOD') throw new UnsupportedSourceError('live HLS playlists (no EXT-X-ENDLIST) are not supported');
  const first = manifest.mediaSequence ?? 0;
  const resolve = (uri: string) => new URL(uri, at).toString();
  const methods = new Set(manifest.segments.map((s) => s.key?.method ?? 'NONE'));
  methods.delete('NONE');
  if ([...methods].some((m) => m !== 'AES-128')) throw new UnsupportedSourceError(`segments encrypted with ${[...methods].join(', ')} are not supported`);
  const maps = new Set(manifest.segments.map((s) => (s.map ? `${s.map.uri} ${s.map.byterange?.offset}` : '')));
  if (maps.size > 1) throw new UnsupportedSourceError('the playlist changes its initialisation section mid-stream');

  const segments: MediaSegment[] = manifest.segments.map((s, i) => ({
    uri: resolve(s.uri),
    duration: s.duration || 0,
    ...(s.byterange ? { byterange: s.byterange } : {}),
    ...(s.discontinuity ? { discontinuity: true } : {}),
    ...(s.key && s.key.method === 'AES-128' && s.key.uri ? { key: { uri: resolve(s.key.uri), iv: ivOf(s.key.iv, first + i) } } : {}),
  }));
  const map = manifest.segments[0]?.map;
  const durationSeconds = segments.reduce((sum, s) => sum + s.duration, 0);
  checkLimits(config, segments.length, durationSeconds);
  return {
    segments,
    ...(map ? { init: { uri: resolve(map.uri), ...(map.byterange ? { byterange: map.byterange } : {}) } } : {}),
    container: map ? 'fragments' : 'mpegts',
    durationSeconds,
  };
}

export interface HlsPresentation {
  /** The media playlist fetched (the chosen variant of a master). */
  url: string;
  /** The variant's stream (video, with its audio unless the audio is a rendition of its own). */
  main: SegmentedTrack;
  /** The variant's audio rendition (`EXT-X-MEDIA TYPE=AUDIO` with a URI): fetched apart and muxed by merge. */
  audio?: SegmentedTrack;
}

/** The rendition of an audio group to fetch: the DEFAULT one, else the first; none when the audio is in the variant. */
function audioRendition(manifest: Manifest, group: string | undefined) {
  const renditions = Object.values((group && manifest.mediaGroups?.AUDIO?.[group]) || {});
  const chosen = renditions.find((r) => r.default) ?? renditions[0];
  return chosen?.uri ? chosen : undefined;
}

/**
 * Reads an HLS playlist (a master resolves to its best variant under `MEDIA_INGEST_MAX_HEIGHT`, plus its audio
 * rendition when the audio is served apart) and applies the segment and duration limits before anything is
 * downloaded. Every URL is fetched through the egress policy.
 */
export async function loadHls(config: Config, url: string): Promise<HlsPresentation> {
  const master = await parseHls(config, url);
  const variants = master.manifest.playlists ?? [];
  if (!variants.length) return { url: master.url, main: trackOf(config, master.manifest, master.url) };
  const best = bestWithin(variants, config.MEDIA_INGEST_MAX_HEIGHT)!;
  const rendition = audioRendition(master.manifest, best.attributes.AUDIO);
  const [variant, audio] = await Promise.all([
    parseHls(config, new URL(best.uri, master.url).toString()),
    rendition ? parseHls(config, new URL(rendition.uri!, master.url).toString()) : undefined,
  ]);
  const main = trackOf(config, variant.manifest, variant.url);
  return { url: variant.url, main, ...(audio ? { audio: trackOf(config, audio.manifest, audio.url) } : {}) };
}
