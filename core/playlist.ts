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

export interface PlaylistSummary {
  /** The media playlist that would be fetched (the best variant of a master). */
  url: string;
  segments: number;
  durationSeconds: number;
}

/**
 * Reads an HLS playlist (a master resolves to its highest-bandwidth variant) and applies the segment and
 * duration limits before anything is downloaded.
 */
export async function inspectHls(config: Config, url: string): Promise<PlaylistSummary> {
  let { manifest, url: at } = await fetchPlaylist(config, url);
  const variants = manifest.playlists ?? [];
  if (variants.length) {
    const best = [...variants].sort((a, b) => (b.attributes.BANDWIDTH ?? 0) - (a.attributes.BANDWIDTH ?? 0))[0]!;
    ({ manifest, url: at } = await fetchPlaylist(config, new URL(best.uri, at).toString()));
  }
  const segments = manifest.segments.length;
  const durationSeconds = manifest.segments.reduce((sum, s) => sum + (s.duration || 0), 0);
  if (segments > config.MEDIA_INGEST_MAX_SEGMENTS) {
    throw new TooLargeError(`the playlist has ${segments} segments; the limit is ${config.MEDIA_INGEST_MAX_SEGMENTS}`);
  }
  if (durationSeconds > config.MEDIA_INGEST_MAX_DURATION_SECONDS) {
    throw new TooLargeError(`the playlist lasts ${Math.round(durationSeconds)} s; the limit is ${config.MEDIA_INGEST_MAX_DURATION_SECONDS} s`);
  }
  return { url: at, segments, durationSeconds };
}
