import { parse, type Playlist } from 'mpd-parser';
import type { Config } from './config.js';
import { UnsupportedSourceError } from './errors.js';
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

function trackOf(playlist: Playlist): DashTrack {
  if (playlist.contentProtection) throw new UnsupportedSourceError('the DASH presentation is DRM-protected (ContentProtection)');
  if (playlist.sidx) return { wholeUrl: playlist.sidx.resolvedUri, durationSeconds: playlist.sidx.duration };
  const segments = playlist.segments.map((s) => ({ uri: s.resolvedUri, duration: s.duration, ...(s.byterange ? { byterange: s.byterange } : {}) }));
  // A representation with a single BaseURL and no segment information is the whole file.
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

/**
 * Reads a DASH manifest (SegmentTemplate with `$Number$` or `$Time$`, SegmentList, SegmentBase) and picks the best
 * video representation under `MEDIA_INGEST_MAX_HEIGHT` and the best audio one; limits apply before any download.
 */
export async function loadDash(config: Config, url: string): Promise<DashPresentation> {
  const { text, url: at } = await fetchManifest(config, url);
  if (/<MPD[^>]*\stype\s*=\s*"dynamic"/.test(text)) throw new UnsupportedSourceError('live DASH presentations (type="dynamic") are not supported');
  let manifest;
  try {
    manifest = parse(text, { manifestUri: at });
  } catch (err) {
    throw new UnsupportedSourceError(`the DASH manifest cannot be read: ${(err as Error).message}`);
  }
  const audios = Object.values(manifest.mediaGroups.AUDIO).flatMap((group) => Object.values(group).flatMap((g) => g.playlists));
  const videoPlaylist = bestWithin(manifest.playlists, config.MEDIA_INGEST_MAX_HEIGHT);
  // Audio has no picture: the highest bandwidth wins.
  const audioPlaylist = bestWithin(audios, Infinity);
  if (!videoPlaylist && !audioPlaylist) throw new UnsupportedSourceError('the DASH manifest has no video or audio representation');
  const video = videoPlaylist && trackOf(videoPlaylist);
  const audio = audioPlaylist && trackOf(audioPlaylist);
  const durationSeconds = manifest.duration ?? Math.max(video?.durationSeconds ?? 0, audio?.durationSeconds ?? 0);
  checkLimits(config, segmentCount(video) + segmentCount(audio), durationSeconds);
  return { url: at, ...(video ? { video } : {}), ...(audio ? { audio } : {}), durationSeconds };
}
