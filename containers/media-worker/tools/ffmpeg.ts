import { z } from 'zod';
import { runTool } from './run.js';

const StreamSchema = z.looseObject({
  index: z.number(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  profile: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  avg_frame_rate: z.string().optional(),
  sample_rate: z.string().optional(),
  channels: z.number().optional(),
  duration: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  disposition: z.record(z.string(), z.number()).optional(),
});
const ProbeSchema = z.object({
  streams: z.array(StreamSchema).default([]),
  format: z
    .looseObject({
      format_name: z.string().optional(),
      duration: z.string().optional(),
      size: z.string().optional(),
      bit_rate: z.string().optional(),
      tags: z.record(z.string(), z.string()).optional(),
    })
    .default({}),
});
export type Probe = z.infer<typeof ProbeSchema>;
export type ProbeStream = z.infer<typeof StreamSchema>;

/**
 * The containers a local file may be opened as: never a playlist, manifest, concat list or image sequence (hls, dash,
 * concat, image2…), whose demuxers open the other files or URLs they name: a manifest in disguise would read the host.
 */
export const MEDIA_DEMUXERS = 'mov,matroska,mpegts,mpeg,flv,avi,asf,ogg,mp3,aac,wav,w64,flac,aiff,caf,amr';

/** Input options for a local file: opened as media only, and through the file protocol only. */
export function mediaInput(file: string, demuxers = MEDIA_DEMUXERS): string[] {
  return ['-format_whitelist', demuxers, '-protocol_whitelist', 'file', '-i', file];
}

/** ffprobe's view of a local file (opened as media only): streams and container. */
export async function ffprobe(file: string, timeoutMs: number): Promise<Probe> {
  const { stdout } = await runTool(
    'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ...mediaInput(file)],
    { timeoutMs },
  );
  return ProbeSchema.parse(JSON.parse(stdout));
}

/** Network protocols only: a remote playlist or file cannot make ffmpeg read local files (file:, concat:, …). */
export const NETWORK_PROTOCOLS = 'http,https,tcp,tls,httpproxy,crypto';

/** ffprobe of a URL, its traffic through the egress proxy (`env` from proxyEnv). */
export async function ffprobeUrl(url: string, env: Record<string, string>, limits: { idleMs: number; timeoutMs: number }): Promise<Probe> {
  // -rw_timeout: a server that stalls fails the probe at the idle timeout, not at the tool timeout.
  const { stdout } = await runTool(
    'ffprobe',
    ['-v', 'error', '-rw_timeout', String(limits.idleMs * 1000), '-protocol_whitelist', NETWORK_PROTOCOLS, '-print_format', 'json', '-show_format', '-show_streams', url],
    { timeoutMs: limits.timeoutMs, env },
  );
  return ProbeSchema.parse(JSON.parse(stdout));
}

/** Runs ffmpeg quietly, never asking on the terminal. */
export async function ffmpeg(args: readonly string[], timeoutMs: number): Promise<void> {
  await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { timeoutMs });
}

export function durationOf(probe: Probe): number {
  const fromFormat = Number(probe.format.duration);
  if (Number.isFinite(fromFormat) && fromFormat > 0) return fromFormat;
  return Math.max(0, ...probe.streams.map((s) => Number(s.duration) || 0));
}

export function hasStream(probe: Probe, kind: 'video' | 'audio'): boolean {
  // Cover art is a video stream too; it does not make a source a video.
  return probe.streams.some((s) => s.codec_type === kind && !(kind === 'video' && s.disposition?.attached_pic === 1));
}
