import { z } from 'zod';

const list = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .default('')
  .transform((v) => v === 'true' || v === '1');

/** Every variable the product reads; the README's configuration table mirrors this list. */
const ConfigSchema = z.object({
  JOBS_TABLE: z.string().optional(),
  STAGING_BUCKET: z.string().optional(),
  ARTIFACTS_BUCKET: z.string().optional(),
  STATE_MACHINE_ARN: z.string().optional(),
  WORK_DIR: z.string().default('/tmp/video-jobs'),
  MEDIA_INGEST_ALLOW_HOSTS: list,
  MEDIA_INGEST_CONNECTIONS: int(16),
  MEDIA_INGEST_MAX_BYTES: int(10 * 1024 ** 3),
  MEDIA_INGEST_MIN_BYTES: int(10 * 1024),
  MEDIA_INGEST_MAX_DURATION_SECONDS: int(4 * 3600),
  MEDIA_INGEST_MAX_SEGMENTS: int(20_000),
  MEDIA_INGEST_MAX_HEIGHT: int(1080),
  MEDIA_INGEST_COOKIES_FILE: z.string().optional(),
  MEDIA_INGEST_PLATFORM_ATTEMPTS: int(3),
  MEDIA_INGEST_UPLOAD_PREFIX: z.string().default('uploads/'),
  MEDIA_INGEST_MAX_REDIRECTS: z.coerce.number().int().min(0).default(5),
  MEDIA_INGEST_MAX_CONNECTIONS_PER_HOST: int(16),
  MEDIA_INGEST_CONNECT_TIMEOUT_MS: int(10_000),
  MEDIA_INGEST_IDLE_TIMEOUT_MS: int(30_000),
  MEDIA_INGEST_TOTAL_TIMEOUT_MS: int(3_600_000),
  MEDIA_INGEST_TOOL_TIMEOUT_MS: int(3_600_000),
  MEDIA_INGEST_JOB_TTL_DAYS: int(30),
  MEDIA_INGEST_STAGING_RETENTION_HOURS: int(24),
  MEDIA_INGEST_CALLBACK_ATTEMPTS: int(3),
  MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: list,
  MEDIA_INGEST_CALLBACK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  MEDIA_INGEST_CALLBACK_SECRET_ARN: z.string().optional(),
  MEDIA_INGEST_AUDIO_FORMAT: z.enum(['wav', 'flac']).default('wav'),
  MEDIA_INGEST_TRANSCRIBE_ENGINE: z.enum(['pocketsphinx', 'openai', 'aws']).default('pocketsphinx'),
  MEDIA_INGEST_TRANSCRIBE_LANGUAGE: z.string().optional(),
  MEDIA_INGEST_STT_BASE_URL: z.url().default('https://api.openai.com/v1'),
  MEDIA_INGEST_STT_MODEL: z.string().default('whisper-1'),
  MEDIA_INGEST_STT_API_KEY: z.string().optional(),
  MEDIA_INGEST_STT_MAX_UPLOAD_BYTES: int(24 * 1024 * 1024),
  MEDIA_INGEST_STT_ATTEMPTS: int(5),
  MEDIA_INGEST_TRANSCRIBE_POLL_MS: int(5000),
  POCKETSPHINX_MODEL_DIR: z.string().default('/usr/share/pocketsphinx/model/en-us'),
  S3_FORCE_PATH_STYLE: bool,
  AWS_REGION: z.string().default('us-east-1'),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Every variable name loadConfig reads (the README's table must list them all). */
export const CONFIG_VARIABLES = Object.keys(ConfigSchema.shape);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

let cached: Config | undefined;

/** Loads configuration once per process; an invalid variable is named in the error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (cached && env === process.env) return cached;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`configuration variable ${String(issue.path[0])} is invalid: ${issue.message}`);
  }
  if (env === process.env) cached = parsed.data;
  return parsed.data;
}

/** Forgets the cached configuration (the local runtime sets variables before handlers run). */
export function resetConfig(): void {
  cached = undefined;
}

type ResourceKey = 'JOBS_TABLE' | 'STAGING_BUCKET' | 'ARTIFACTS_BUCKET' | 'STATE_MACHINE_ARN';

/** A resource name this component cannot run without. */
export function required(config: Config, key: ResourceKey): string {
  const value = config[key];
  if (!value) throw new ConfigError(`configuration variable ${key} is not set`);
  return value;
}
