import { InvalidRequestError } from './errors.js';

/** Fixed artifact names: no file or key name ever comes from the source. */
export const ARTIFACT_NAMES = {
  source: 'source.mp4',
  metadata: 'metadata.json',
  thumbnail: 'thumbnail.jpg',
  audio: 'audio.wav',
  audioFlac: 'audio.flac',
  transcriptJson: 'transcript.json',
  transcriptTxt: 'transcript.txt',
  transcriptSrt: 'transcript.srt',
  transcriptVtt: 'transcript.vtt',
  manifest: 'manifest.json',
} as const;

/** Each artifact's Content-Type, as staged and as published (publish sets it whatever the staged object says). */
export const ARTIFACT_TYPES: Record<(typeof ARTIFACT_NAMES)[keyof typeof ARTIFACT_NAMES], string> = {
  'source.mp4': 'video/mp4',
  'metadata.json': 'application/json',
  'thumbnail.jpg': 'image/jpeg',
  'audio.wav': 'audio/wav',
  'audio.flac': 'audio/flac',
  'transcript.json': 'application/json',
  'transcript.txt': 'text/plain; charset=utf-8',
  'transcript.srt': 'application/x-subrip',
  'transcript.vtt': 'text/vtt',
  'manifest.json': 'application/json',
};

/** Where the original download lands in staging (its container is whatever the source was). */
export const ORIGINAL_NAME = 'original';
/** A separate audio stream, when the source serves video and audio apart (platforms, DASH). */
export const ORIGINAL_AUDIO_NAME = 'original-audio';
/** The source's own metadata as the extractor gave it (id, title, uploader, …), trimmed and sanitised. */
export const SOURCE_INFO_NAME = 'source-info.json';

/**
 * The top-level prefixes, the one truth for them: step data in the staging bucket (expires), tenants' uploads in the
 * staging bucket (expire), published artifacts in the artifacts bucket. CDK grants and lifecycle rules use these.
 */
export const PREFIXES = { staging: 'staging/', uploads: 'uploads/', artifacts: 'tenants/' } as const;
export type StoragePrefix = (typeof PREFIXES)[keyof typeof PREFIXES];

export function stagingPrefix(tenant: string, jobId: string): string {
  return `${PREFIXES.staging}${tenant}/${jobId}/`;
}

/** Where a tenant's uploads live in the staging bucket. */
export function uploadPrefix(tenant: string): string {
  return `${PREFIXES.uploads}${tenant}/`;
}

export function stagingKey(tenant: string, jobId: string, name: string): string {
  return stagingPrefix(tenant, jobId) + name;
}

/** S3's limit on an object key, in UTF-8 bytes. */
export const S3_KEY_MAX_BYTES = 1024;
/** The longest folder name in a key: what a file system (the local S3 stand-in's) holds as one name. */
export const KEY_SEGMENT_MAX_BYTES = 255;
const LONGEST_ARTIFACT_BYTES = Math.max(...Object.values(ARTIFACT_NAMES).map((name) => Buffer.byteLength(name)));

/**
 * The artifacts prefix: `jobs/<job>/` by default, else `<storage_path>/<job>/`. The job's own folder at the end means
 * no job's artifacts can land on another's; `storage_path` is normalised, can never leave the tenant's prefix, and
 * every artifact key fits S3's limit.
 */
export function artifactsPrefix(tenant: string, jobId: string, storagePath?: string): string {
  const base = `${PREFIXES.artifacts}${tenant}/`;
  if (storagePath === undefined) return `${base}jobs/${jobId}/`;
  const segments = storagePath.split('/').filter(Boolean);
  const bad = segments.find((s) => s === '.' || s === '..' || /[\p{Cc}\\]/u.test(s));
  if (bad !== undefined || segments.length === 0) {
    throw new InvalidRequestError(
      `storage_path: "${storagePath}" must be a relative folder without "." or ".." segments or control characters`,
    );
  }
  const long = segments.find((s) => Buffer.byteLength(s) > KEY_SEGMENT_MAX_BYTES);
  if (long !== undefined) {
    throw new InvalidRequestError(`storage_path: a folder name is ${Buffer.byteLength(long)} bytes; at most ${KEY_SEGMENT_MAX_BYTES}`);
  }
  const prefix = `${base}${segments.join('/')}/${jobId}/`;
  const longest = Buffer.byteLength(prefix) + LONGEST_ARTIFACT_BYTES;
  if (longest > S3_KEY_MAX_BYTES) {
    throw new InvalidRequestError(`storage_path: too long, artifact keys would be ${longest} bytes; S3 allows ${S3_KEY_MAX_BYTES}`);
  }
  return prefix;
}
