// m3u8-parser ships no typings: only the parts core/playlist.ts reads.
declare module 'm3u8-parser' {
  export interface ByteRange {
    length: number;
    offset: number;
  }
  export interface Segment {
    uri: string;
    duration: number;
    byterange?: ByteRange;
    key?: { method: string; uri?: string; iv?: Uint32Array };
    map?: { uri: string; byterange?: ByteRange };
    discontinuity?: boolean;
  }
  export interface VariantPlaylist {
    uri: string;
    attributes: { BANDWIDTH?: number; RESOLUTION?: { width: number; height: number }; AUDIO?: string };
  }
  export interface Rendition {
    uri?: string;
    default?: boolean;
    language?: string;
  }
  export interface Manifest {
    mediaSequence?: number;
    segments: Segment[];
    playlists?: VariantPlaylist[];
    mediaGroups?: { AUDIO?: Record<string, Record<string, Rendition>> };
    endList?: boolean;
  }
  export class Parser {
    manifest: Manifest;
    push(chunk: string): void;
    end(): void;
  }
}

// mpd-parser ships no typings: only the parts core/dash.ts reads.
declare module 'mpd-parser' {
  export interface ByteRange {
    length: number;
    offset: number;
  }
  export interface Segment {
    resolvedUri: string;
    duration: number;
    byterange?: ByteRange;
    map?: { resolvedUri: string; byterange?: ByteRange };
  }
  export interface Playlist {
    attributes: { BANDWIDTH?: number; RESOLUTION?: { width: number; height: number }; CODECS?: string; NAME?: string };
    segments: Segment[];
    /** SegmentBase with an index: the whole representation is one resource. */
    sidx?: { resolvedUri: string; duration: number };
    contentProtection?: Record<string, unknown>;
    endList?: boolean;
  }
  export interface Manifest {
    duration?: number;
    endList?: boolean;
    minimumUpdatePeriod?: number;
    playlists: Playlist[];
    mediaGroups: { AUDIO: Record<string, Record<string, { playlists: Playlist[] }>> };
  }
  export function parse(manifest: string, options: { manifestUri: string }): Manifest;
}
