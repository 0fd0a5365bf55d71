import type { ExecutionInput } from '../../../core/job.js';
import { sanitiseMetadata, sanitiseText } from '../../../core/sanitise.js';
import type { Probe, ProbeStream } from '../tools/ffmpeg.js';
import { durationOf } from '../tools/ffmpeg.js';

/** Frame rate from ffprobe's "num/den" string. */
function fps(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [num, den] = rate.split('/').map(Number);
  return num && den ? Math.round((num / den) * 1000) / 1000 : undefined;
}

function describeStream(s: ProbeStream) {
  return {
    index: s.index,
    kind: s.codec_type ?? 'unknown',
    codec: s.codec_name ?? null,
    profile: s.profile ?? null,
    width: s.width ?? null,
    height: s.height ?? null,
    fps: s.codec_type === 'video' ? (fps(s.avg_frame_rate) ?? null) : null,
    sampleRate: s.sample_rate ? Number(s.sample_rate) : null,
    channels: s.channels ?? null,
    language: s.tags?.language ? sanitiseText(s.tags.language, 16) : null,
  };
}

/** metadata.json: what ffprobe says of source.mp4, where it came from and what was done to it. */
export function buildMetadata(probe: Probe, input: ExecutionInput, reencoded: boolean) {
  return {
    container: probe.format.format_name ?? null,
    durationSeconds: durationOf(probe),
    sizeBytes: Number(probe.format.size ?? 0),
    bitRate: probe.format.bit_rate ? Number(probe.format.bit_rate) : null,
    streams: probe.streams.map(describeStream),
    // Caller metadata was sanitised when the job was accepted; the file's own tags are sanitised here.
    source: {
      url: input.request.source.url,
      type: input.request.source.type,
      metadata: input.request.source.metadata ?? {},
      tags: sanitiseMetadata(probe.format.tags ?? {}),
    },
    processing: { remuxed: !reencoded, reencoded },
  };
}
