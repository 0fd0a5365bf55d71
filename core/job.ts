import { createHash } from 'node:crypto';
import { z } from 'zod';

export const ACTIONS = ['download', 'transcode', 'transcribe'] as const;
export type Action = (typeof ACTIONS)[number];
export const DEFAULT_ACTIONS: Action[] = ['download', 'transcode'];

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** The statuses a job never leaves. */
export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export const STEPS = ['classify', 'extract', 'merge', 'transcribe', 'publish'] as const;
export type Step = (typeof STEPS)[number];

/** Whether a URL carries userinfo (`user:password@`); anything the WHATWG parser cannot read has none to carry. */
function hasUserinfo(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  return parsed.username !== '' || parsed.password !== '';
}

/** The job request: the API body and what the CLI builds. The tenant never comes from here. */
/** How the job runs, decided at submission (stored on the record). */
export const JobOptionsSchema = z.object({ connections: z.number().int().min(1).max(64) });
export type JobOptions = z.infer<typeof JobOptionsSchema>;

/** The job id rule, for a client's `job_id` and every `{id}` of a job route. */
export const JobIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/, 'letters, digits, "-" and "_" only, at most 80');

export const JobRequestSchema = z.strictObject({
  job_id: JobIdSchema.optional(),
  source: z.strictObject({
    type: z.enum(['youtube', 'http', 'upload']),
    // Credentials in a URL would travel through logs and histories: refused, never echoed (the message names none).
    url: z.string().min(1).max(4096).refine((url) => !hasUserinfo(url), 'must not carry credentials (user:password@host); use a URL that needs none, such as a signed one'),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
  actions: z.array(z.enum(ACTIONS)).min(1).default(DEFAULT_ACTIONS),
  callback_url: z.url({ protocol: /^https?$/ }).max(2048).optional(),
  storage_path: z.string().max(512).optional(),
  /** Parallel connections for this job's downloads; MEDIA_INGEST_CONNECTIONS when absent. */
  connections: JobOptionsSchema.shape.connections.optional(),
});
/** A request as stored: `connections` goes to the job's options. */
export type JobRequest = Omit<z.infer<typeof JobRequestSchema>, 'connections'>;

/** Step outputs: small JSON placed at `$.checkpoints.<step>`; data itself stays in S3 staging. */
export const CheckpointSchema = z.looseObject({
  durationMs: z.number().nonnegative(),
  bytes: z.number().nonnegative(),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

export const ClassifyCheckpointSchema = CheckpointSchema.extend({
  kind: z.enum(['direct', 'hls', 'dash', 'platform', 'upload']),
  url: z.string(),
  contentType: z.string().nullable(),
  acceptRanges: z.boolean(),
});
export type ClassifyCheckpoint = z.infer<typeof ClassifyCheckpointSchema>;

export const FileRefSchema = z.object({
  key: z.string(),
  bytes: z.number().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileRef = z.infer<typeof FileRefSchema>;

/**
 * `source` is the media (or its video stream); `audio` the audio stream when the source serves them apart; `info` the
 * source's own metadata (platform pages).
 */
export const ExtractCheckpointSchema = CheckpointSchema.extend({
  source: FileRefSchema,
  audio: FileRefSchema.optional(),
  info: FileRefSchema.optional(),
});
export type ExtractCheckpoint = z.infer<typeof ExtractCheckpointSchema>;

export const MergeCheckpointSchema = CheckpointSchema.extend({
  files: z.record(z.string(), FileRefSchema),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  durationSeconds: z.number().nonnegative(),
});
export type MergeCheckpoint = z.infer<typeof MergeCheckpointSchema>;

export const TranscribeCheckpointSchema = CheckpointSchema.extend({
  files: z.record(z.string(), FileRefSchema),
  skipped: z.string().optional(),
  /** The engine of the fallback list that produced the transcript; absent when skipped. */
  engine: z.string().optional(),
  characters: z.number().nonnegative(),
  realTimeFactor: z.number().nonnegative().optional(),
});
export type TranscribeCheckpoint = z.infer<typeof TranscribeCheckpointSchema>;

export const ArtifactSchema = FileRefSchema.extend({ name: z.string(), bucket: z.string() });
export type Artifact = z.infer<typeof ArtifactSchema>;

export const PublishCheckpointSchema = CheckpointSchema.extend({
  bucket: z.string(),
  prefix: z.string(),
  artifacts: z.array(ArtifactSchema),
});
export type PublishCheckpoint = z.infer<typeof PublishCheckpointSchema>;


/** The execution input start-job gives the state machine; every step reads this shape. */
export const ExecutionInputSchema = z.looseObject({
  tenant: z.string().min(1),
  jobId: z.string().min(1),
  request: JobRequestSchema,
  options: JobOptionsSchema,
  checkpoints: z.record(z.string(), z.unknown()).default({}),
});
export type ExecutionInput = z.infer<typeof ExecutionInputSchema>;

/** Step Functions' limit on execution names (and the characters CloudWatch logging accepts in them). */
export const EXECUTION_NAME_MAX = 80;
const HASH_CHARS = 32; // 128 bits of sha256, hex

/**
 * One execution per job and tenant: Step Functions refuses a second with the same name, so the name is injective.
 * Readable `tenant-jobId` when the tenant has no "-", the job id no leading, trailing or doubled "-", and it fits;
 * else a readable prefix, "--" (which the readable form never contains) and a hash of the whole pair.
 */
export function executionName(tenant: string, jobId: string): string {
  const readable = `${tenant}-${jobId}`;
  const plain = /^[A-Za-z0-9_]+$/.test(tenant) && /^[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*$/.test(jobId);
  if (plain && readable.length <= EXECUTION_NAME_MAX) return readable;
  // JSON keeps the pair's boundary, so ("a-b", "c") and ("a", "b-c") hash apart.
  const hash = createHash('sha256').update(JSON.stringify([tenant, jobId])).digest('hex').slice(0, HASH_CHARS);
  const prefix = readable.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, EXECUTION_NAME_MAX - HASH_CHARS - 2);
  return `${prefix}--${hash}`;
}

/** The ARN Step Functions gives the execution `name` of a state machine. */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** The job record as callers see it (API, CLI `--json`). */
export interface JobRecord {
  tenant: string;
  jobId: string;
  status: JobStatus;
  stage: string;
  request: JobRequest;
  options: JobOptions;
  progress: { percent?: number; bytes?: number; totalBytes?: number; bytesPerSecond?: number; step?: string };
  checkpoints: Partial<Record<Step, Checkpoint>>;
  artifacts: Artifact[];
  error: { code: string; message: string; stderrTail?: string[] } | null;
  callback?: { delivered: boolean; status?: number; error?: string; attempts: number };
  attempts: number;
  executionArn?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: number;
}
