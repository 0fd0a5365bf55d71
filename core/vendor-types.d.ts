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
    attributes: { BANDWIDTH?: number; RESOLUTION?: { width: number; height: number } };
  }
  export interface Manifest {
    mediaSequence?: number;
    segments: Segment[];
    playlists?: VariantPlaylist[];
    endList?: boolean;
  }
  export class Parser {
    manifest: Manifest;
    push(chunk: string): void;
    end(): void;
  }
}
