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
    playlistType?: string;
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
    /** Absent for a representation that is one plain BaseURL with no segment information. */
    segments?: Segment[];
    resolvedUri: string;
    /** SegmentBase with an index: the whole representation is one resource. */
    sidx?: { resolvedUri: string; duration: number };
    endList?: boolean;
  }
  export interface Manifest {
    duration?: number;
    endList?: boolean;
    minimumUpdatePeriod?: number;
    playlists: Playlist[];
    mediaGroups: { AUDIO: Record<string, Record<string, { playlists: Playlist[] }>> };
  }
  /** The parsed XML root (xmldom): attributes read as parsed, never matched in the text. */
  export interface MpdElement {
    getAttribute(name: string): string | null;
    getElementsByTagNameNS(namespace: string, name: string): { length: number };
  }
  /** One `<S>` of a SegmentTimeline, its attributes parsed to numbers. */
  export interface TimelineEntry {
    t?: number;
    d?: number;
    r?: number;
  }
  /** Segment attributes of a SegmentTemplate, SegmentList or SegmentBase, parsed to numbers where numeric. */
  export interface SegmentAttributes {
    duration?: number;
    timescale?: number;
    endNumber?: number | string;
    [name: string]: unknown;
  }
  /** A representation with every attribute it inherits, before any segment is generated. */
  export interface RepresentationInfo {
    attributes: {
      id?: string;
      mimeType?: string;
      contentType?: string;
      bandwidth?: number;
      height?: number;
      sourceDuration?: number;
      periodDuration?: number;
      [name: string]: unknown;
    };
    segmentInfo: {
      template?: SegmentAttributes;
      list?: SegmentAttributes;
      base?: SegmentAttributes;
      segmentTimeline?: TimelineEntry[];
    };
  }
  export function stringToMpdXml(manifest: string): MpdElement;
  export function inheritAttributes(mpd: MpdElement, options: { manifestUri: string }): { representationInfo: RepresentationInfo[] };
  /** Generates every segment of the representations given: the expensive step, run on the chosen ones only. */
  export function toPlaylists(representations: RepresentationInfo[]): unknown[];
  export function toM3u8(options: { dashPlaylists: unknown[] }): Manifest;
}
