// m3u8-parser ships no typings: only the parts core/playlist.ts reads.
declare module 'm3u8-parser' {
  export interface Segment {
    uri: string;
    duration: number;
  }
  export interface VariantPlaylist {
    uri: string;
    attributes: { BANDWIDTH?: number; RESOLUTION?: { width: number; height: number } };
  }
  export interface Manifest {
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
