import { inheritAttributes, type Playlist, type RepresentationInfo, stringToMpdXml, toM3u8, toPlaylists } from 'mpd-parser';
import type { Config } from './config.js';
import { impliedSegments } from './dash-segments.js';
import { UnsupportedSourceError } from './errors.js';
import { checkSegments } from './limits.js';
import { bestWithin, checkLimits, fetchManifest, type SegmentedTrack } from './playlist.js';

/** A DASH representation: segments, or (SegmentBase) one whole resource fetched like a direct file. */
export type DashTrack = SegmentedTrack | { wholeUrl: string; durationSeconds: number };

export interface DashPresentation {
  url: string;
  /** The best video representation under the height cap; absent for an audio-only presentation. */
  video?: DashTrack;
  /** The best audio representation, when audio is served apart from the video. */
  audio?: DashTrack;
  durationSeconds: number;
}

function trackOf(playlist: Playlist, presentationSeconds: number): DashTrack {
  if (playlist.sidx) return { wholeUrl: playlist.sidx.resolvedUri, durationSeconds: playlist.sidx.duration };
  // A representation with a single BaseURL and no segment information is the whole file (mpd-parser gives it one
  // segment, or none when it cannot tell the representation's duration).
  if (!playlist.segments?.length) return { wholeUrl: playlist.resolvedUri, durationSeconds: presentationSeconds };
  const segments = playlist.segments.map((s) => ({ uri: s.resolvedUri, duration: s.duration, ...(s.byterange ? { byterange: s.byterange } : {}) }));
  if (segments.length === 1 && !segments[0]!.byterange && !playlist.segments[0]!.map) {
    return { wholeUrl: segments[0]!.uri, durationSeconds: segments[0]!.duration };
  }
  const map = playlist.segments[0]?.map;
  return {
    segments,
    ...(map ? { init: { uri: map.resolvedUri, ...(map.byterange ? { byterange: map.byterange } : {}) } } : {}),
    container: 'fragments',
    durationSeconds: segments.reduce((sum, s) => sum + s.duration, 0),
  };
}

const segmentCount = (t: DashTrack | undefined) => (t && 'segments' in t ? t.segments.length : 0);

const unreadable = (err: unknown) => new UnsupportedSourceError(`the DASH manifest cannot be read: ${(err as Error).message}`);

/** The parsed XML decides live and DRM (whatever its quoting); the representations come out with no segment generated yet. */
function representationsOf(text: string, at: string): RepresentationInfo[] {
  try {
    const mpd = stringToMpdXml(text);
    const type = mpd.getAttribute('type') || 'static';
    if (type !== 'static') throw new UnsupportedSourceError(`live DASH presentations (type="${type}") are not supported`);
    // Any ContentProtection, on an AdaptationSet or a Representation (mpd-parser reads only the former).
    if (mpd.getElementsByTagNameNS('*', 'ContentProtection').length) {
      throw new UnsupportedSourceError('the DASH presentation is DRM-protected (ContentProtection)');
    }
    return inheritAttributes(mpd, { manifestUri: at }).representationInfo;
  } catch (err) {
    throw err instanceof UnsupportedSourceError ? err : unreadable(err);
  }
}

// mpd-parser's own tests for a video and an audio representation (toM3u8), so what is chosen here is what it keeps.
const isVideo = ({ attributes: a }: RepresentationInfo) => a.mimeType === 'video/mp4' || a.mimeType === 'video/webm' || a.contentType === 'video';
const isAudio = ({ attributes: a }: RepresentationInfo) => a.mimeType === 'audio/mp4' || a.mimeType === 'audio/webm' || a.contentType === 'audio';

/** Every period's part of the best representation of a kind (one id across periods). */
function choose(representations: RepresentationInfo[], kind: (r: RepresentationInfo) => boolean, maxHeight: number): RepresentationInfo[] {
  const candidates = representations.filter(kind);
  const rated = candidates.map((r) => ({ r, attributes: { BANDWIDTH: r.attributes.bandwidth, RESOLUTION: { height: r.attributes.height ?? 0 } } }));
  const best = bestWithin(rated, maxHeight)?.r;
  return best ? candidates.filter((r) => r.attributes.id === best.attributes.id) : [];
}

/**
 * Reads a DASH manifest (SegmentTemplate with `$Number$` or `$Time$`, SegmentList, SegmentBase) and picks the best
 * video representation under `MEDIA_INGEST_MAX_HEIGHT` and the best audio one. The segment limit applies to the
 * count their attributes imply before mpd-parser generates a segment, and only the chosen ones are generated.
 */
export async function loadDash(config: Config, url: string): Promise<DashPresentation> {
  const { text, url: at } = await fetchManifest(config, url);
  const representations = representationsOf(text, at);
  const video = choose(representations, isVideo, config.MEDIA_INGEST_MAX_HEIGHT);
  // Audio has no picture: the highest bandwidth wins.
  const audio = choose(representations, isAudio, Infinity);
  if (!video.length && !audio.length) throw new UnsupportedSourceError('the DASH manifest has no video or audio representation');
  checkSegments(config, [...video, ...audio].reduce((sum, r) => sum + impliedSegments(r), 0));
  let manifest;
  try {
    manifest = toM3u8({ dashPlaylists: toPlaylists([...video, ...audio]) });
  } catch (err) {
    throw unreadable(err);
  }
  const audios = Object.values(manifest.mediaGroups.AUDIO).flatMap((group) => Object.values(group).flatMap((g) => g.playlists));
  const videoTrack = manifest.playlists[0] && trackOf(manifest.playlists[0], manifest.duration ?? 0);
  const audioTrack = audios[0] && trackOf(audios[0], manifest.duration ?? 0);
  const durationSeconds = manifest.duration ?? Math.max(videoTrack?.durationSeconds ?? 0, audioTrack?.durationSeconds ?? 0);
  checkLimits(config, segmentCount(videoTrack) + segmentCount(audioTrack), durationSeconds);
  return { url: at, ...(videoTrack ? { video: videoTrack } : {}), ...(audioTrack ? { audio: audioTrack } : {}), durationSeconds };
}
