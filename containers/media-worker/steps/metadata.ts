import type { ExecutionInput } from '../../../core/job.js';
import { type Metadata, MetadataSchema, normaliseDate, type Processing } from '../../../core/metadata.js';
import { sanitiseMetadata, sanitiseText, sanitiseUrl } from '../../../core/sanitise.js';
import type { Probe, ProbeStream } from '../tools/ffmpeg.js';
import { durationOf } from '../tools/ffmpeg.js';

/** Frame rate from ffprobe's "num/den" string. */
function fps(rate: string | undefined): number | null {
  if (!rate) return null;
  const [num, den] = rate.split('/').map(Number);
  return num && den ? Math.round((num / den) * 1000) / 1000 : null;
}

function describeStream(s: ProbeStream) {
  return {
    index: s.index,
    kind: s.codec_type ?? 'unknown',
    codec: s.codec_name ?? null,
    profile: s.profile ?? null,
    width: s.width ?? null,
    height: s.height ?? null,
    fps: s.codec_type === 'video' ? fps(s.avg_frame_rate) : null,
    sampleRate: s.sample_rate ? Number(s.sample_rate) : null,
    channels: s.channels ?? null,
    language: s.tags?.language ? sanitiseText(s.tags.language, 16) : null,
  };
}

/** The first of several names a field goes by (yt-dlp's info.json, a caller's metadata, the file's tags). */
function pick(sources: Array<Record<string, unknown>>, ...names: string[]): string | null {
  for (const source of sources) {
    for (const name of names) {
      const value = source[name];
      if (typeof value === 'string' && value.trim()) return sanitiseText(value);
      if (typeof value === 'number') return String(value);
    }
  }
  return null;
}

/** metadata.json: what ffprobe says of source.mp4, where it came from (normalised, sanitised) and what was done. */
export function buildMetadata(
  probe: Probe,
  input: ExecutionInput,
  processing: Processing,
  info: Record<string, unknown> = {},
): Metadata {
  // Caller metadata was sanitised when the job was accepted; the file's own tags are sanitised here.
  const given = (input.request.source.metadata ?? {}) as Record<string, unknown>;
  const tags = sanitiseMetadata(probe.format.tags ?? {}) as Record<string, unknown>;
  // The extractor's info (yt-dlp) knows the source best, then the caller, then the file's own tags.
  const both = [info, given, tags];
  return MetadataSchema.parse({
    container: probe.format.format_name ?? null,
    durationSeconds: durationOf(probe),
    sizeBytes: Number(probe.format.size ?? 0),
    bitRate: probe.format.bit_rate ? Number(probe.format.bit_rate) : null,
    streams: probe.streams.map(describeStream),
    source: {
      url: input.request.source.url,
      type: input.request.source.type,
      title: pick(both, 'title'),
      uploader: pick(both, 'uploader', 'channel', 'artist', 'author'),
      uploadDate: normaliseDate(pick(both, 'upload_date', 'uploadDate', 'date', 'creation_time')),
      originalUrl: [info.webpage_url, given.webpage_url, given.original_url, given.originalUrl].map(sanitiseUrl).find(Boolean) ?? input.request.source.url,
      id: pick([info, given], 'id'),
      extra: given,
      tags,
    },
    processing,
  });
}
