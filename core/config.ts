import { z } from 'zod';

/** The deployable parts of the product; each reads only the variables its contract names. */
export const COMPONENTS = [
  'start-job',
  'get-job',
  'list-jobs',
  'cancel-job',
  'create-upload',
  'complete-upload',
  'classify',
  'publish',
  'notify',
  'cleanup',
  'reconcile',
  'worker',
  // Not a process: its timeouts are written into the definition CDK deploys (and the local engine runs).
  'statemachine',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** What a variable's value is, so a stack prop can be typed and a context string parsed. */
type Kind = 'list' | 'int' | 'string' | 'bool';

interface Variable<S extends z.ZodType = z.ZodType> {
  schema: S;
  kind: Kind;
  readers: readonly Component[];
  /** A platform team may change it: a stack prop and a context key named `setting`. */
  setting?: string;
  /** Must be set for its readers (a resource without a default). */
  required?: true;
  /** A secret: never in a task definition's environment (ECS injects it) or a Lambda's (it reads the ARN). */
  secret?: true;
}

const list = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .default('')
  .transform((v) => v === 'true' || v === '1');

const API: Component[] = ['start-job', 'get-job', 'list-jobs', 'cancel-job', 'create-upload', 'complete-upload'];
const UPLOADS: Component[] = ['create-upload', 'complete-upload'];
const CALLBACKS: Component[] = ['start-job', 'notify', 'reconcile'];
const FETCHERS: Component[] = ['classify', 'notify', 'reconcile', 'worker'];
const ALL: Component[] = COMPONENTS.filter((c) => c !== 'statemachine');

/** Camel-case of the name without its prefix: MEDIA_INGEST_MAX_BYTES → maxBytes. */
function settingName(variable: string): string {
  return variable
    .replace(/^MEDIA_INGEST_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A variable a platform team may set; its setting name is filled in below, from the variable's. */
function setting<S extends z.ZodType, K extends Kind>(schema: S, kind: K, readers: Component[]): { schema: S; kind: K; readers: Component[]; setting: string } {
  return { schema, kind, readers, setting: '' };
}

/**
 * The configuration contract: every variable the product reads, who reads it, its schema and default. CDK builds
 * each component's environment from this table, the local runtime takes those environments from the synthesised
 * template, and each component parses only its own variables (README: Configuration).
 */
const VARIABLES = {
  // Resources, filled in by the deployment.
  JOBS_TABLE: { schema: z.string().min(1), kind: 'string', readers: [...API.filter((c) => !UPLOADS.includes(c)), 'notify', 'reconcile', 'cleanup', 'worker'], required: true },
  STAGING_BUCKET: { schema: z.string().min(1), kind: 'string', readers: ['start-job', 'classify', 'publish', 'notify', 'reconcile', 'cancel-job', 'cleanup', ...UPLOADS, 'worker'], required: true },
  ARTIFACTS_BUCKET: { schema: z.string().min(1), kind: 'string', readers: ['publish'], required: true },
  STATE_MACHINE_ARN: { schema: z.string().min(1), kind: 'string', readers: ['start-job'], required: true },
  WORK_QUEUE_URL: { schema: z.string().min(1), kind: 'string', readers: ['worker'], required: true },
  // Set by the ECS agent in a Fargate task (scale-in protection); absent locally, where nothing scales in.
  ECS_AGENT_URI: { schema: z.string().optional(), kind: 'string', readers: ['worker'] },
  MEDIA_INGEST_CALLBACK_SECRET_ARN: { schema: z.string().optional(), kind: 'string', readers: CALLBACKS },
  WORK_DIR: { schema: z.string().default('/tmp/video-jobs'), kind: 'string', readers: ['worker'] },
  // The worker's root filesystem is read-only: tools keep their home, temporary files and caches in scratch.
  HOME: { schema: z.string().optional(), kind: 'string', readers: ['worker'] },
  TMPDIR: { schema: z.string().optional(), kind: 'string', readers: ['worker'] },
  XDG_CACHE_HOME: { schema: z.string().optional(), kind: 'string', readers: ['worker'] },
  // Settings a platform team may change (stack props and context keys).
  MEDIA_INGEST_ALLOW_HOSTS: setting(list, 'list', FETCHERS),
  MEDIA_INGEST_CONNECTIONS: setting(int(16), 'int', ['start-job']),
  MEDIA_INGEST_MAX_BYTES: setting(int(10 * 1024 ** 3), 'int', ['classify', 'create-upload', 'worker']),
  MEDIA_INGEST_MIN_BYTES: setting(int(10 * 1024), 'int', ['worker']),
  MEDIA_INGEST_MAX_DURATION_SECONDS: setting(int(4 * 3600), 'int', ['classify', 'worker']),
  MEDIA_INGEST_MAX_SEGMENTS: setting(int(20_000), 'int', ['classify', 'worker']),
  MEDIA_INGEST_MAX_HEIGHT: setting(int(1080), 'int', ['classify', 'worker']),
  MEDIA_INGEST_PLATFORM_ATTEMPTS: setting(int(3), 'int', ['worker']),
  // An upload's parts are at least 5 MiB (S3's smallest part) and a single PUT stops at 5 GiB.
  MEDIA_INGEST_MULTIPART_UPLOAD_THRESHOLD_BYTES: setting(z.coerce.number().int().min(5 * 1024 ** 2).max(5 * 1024 ** 3).default(100 * 1024 ** 2), 'int', ['create-upload']),
  MEDIA_INGEST_UPLOAD_QUOTA_BYTES: setting(int(100 * 1024 ** 3), 'int', ['create-upload']),
  // API Gateway refuses more than 10 MB itself: a higher limit would hold only locally.
  MEDIA_INGEST_MAX_REQUEST_BYTES: setting(z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(10 * 1024 * 1024), 'int', API),
  MEDIA_INGEST_MAX_REDIRECTS: setting(z.coerce.number().int().min(0).default(5), 'int', FETCHERS),
  MEDIA_INGEST_MAX_CONNECTIONS_PER_HOST: setting(int(16), 'int', FETCHERS),
  MEDIA_INGEST_CONNECT_TIMEOUT_MS: setting(int(10_000), 'int', FETCHERS),
  MEDIA_INGEST_IDLE_TIMEOUT_MS: setting(int(30_000), 'int', FETCHERS),
  MEDIA_INGEST_TOTAL_TIMEOUT_MS: setting(int(3_600_000), 'int', ['worker']),
  MEDIA_INGEST_TOOL_TIMEOUT_MS: setting(int(3_600_000), 'int', ['worker']),
  MEDIA_INGEST_JOB_TTL_DAYS: setting(int(30), 'int', ['start-job', 'cleanup']),
  MEDIA_INGEST_STAGING_RETENTION_HOURS: setting(int(24), 'int', ['cleanup']),
  MEDIA_INGEST_CALLBACK_ATTEMPTS: setting(int(3), 'int', ['notify', 'reconcile']),
  MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: setting(list, 'list', CALLBACKS),
  MEDIA_INGEST_AUDIO_FORMAT: setting(z.enum(['wav', 'flac']).default('wav'), 'string', ['worker']),
  MEDIA_INGEST_TRANSCRIBE_ENGINE: setting(
    z
      .string()
      .default('pocketsphinx')
      .transform((s) => s.split(',').map((e) => e.trim()).filter(Boolean))
      .pipe(z.array(z.enum(['pocketsphinx', 'openai', 'aws'])).min(1, 'names at least one engine')),
    'list',
    ['worker'],
  ),
  MEDIA_INGEST_TRANSCRIBE_LANGUAGE: setting(z.string().optional(), 'string', ['worker']),
  MEDIA_INGEST_STT_BASE_URL: setting(z.url().default('https://api.openai.com/v1'), 'string', ['worker']),
  MEDIA_INGEST_STT_MODEL: setting(z.string().default('whisper-1'), 'string', ['worker']),
  MEDIA_INGEST_STT_MAX_UPLOAD_BYTES: setting(int(24 * 1024 * 1024), 'int', ['worker']),
  MEDIA_INGEST_STT_ATTEMPTS: setting(int(5), 'int', ['worker']),
  MEDIA_INGEST_TRANSCRIBE_POLL_MS: setting(int(5000), 'int', ['worker']),
  MEDIA_INGEST_COOKIES_FILE: setting(z.string().optional(), 'string', ['worker']),
  // One CopyObject stops at 5 GiB, so a higher threshold would fail at S3.
  MEDIA_INGEST_MULTIPART_COPY_THRESHOLD_BYTES: setting(z.coerce.number().int().min(5 * 1024 ** 2).max(5 * 1024 ** 3).default(5 * 1024 ** 3), 'int', ['publish']),
  MEDIA_INGEST_WORKER_CACHE_BYTES: setting(z.coerce.number().int().min(0).default(2 * 1024 ** 3), 'int', ['worker']),
  MEDIA_INGEST_WORKER_CONCURRENCY: setting(z.coerce.number().int().min(1).max(16).default(1), 'int', ['worker']),
  // The claim on a step's message; CDK gives the work queue the same value, and the worker extends it while it works.
  MEDIA_INGEST_VISIBILITY_TIMEOUT_SECONDS: setting(z.coerce.number().int().min(3).max(43_200).default(60), 'int', ['worker']),
  // Deliveries of a step's message before it goes to the dead-letter queue; the last one fails the task (WorkerLost).
  MEDIA_INGEST_MAX_RECEIVE_COUNT: setting(z.coerce.number().int().min(2).max(1000).default(3), 'int', ['worker']),
  MEDIA_INGEST_JOB_TIMEOUT_SECONDS: setting(int(4 * 3600), 'int', ['statemachine']),
  MEDIA_INGEST_EXTRACT_TIMEOUT_SECONDS: setting(int(3600), 'int', ['statemachine']),
  MEDIA_INGEST_MERGE_TIMEOUT_SECONDS: setting(int(3600), 'int', ['statemachine']),
  MEDIA_INGEST_TRANSCRIBE_TIMEOUT_SECONDS: setting(int(7200), 'int', ['statemachine']),
  POCKETSPHINX_MODEL_DIR: { schema: z.string().default('/usr/share/pocketsphinx/model/en-us'), kind: 'string', readers: ['worker'] },
  // Secrets: the callback key is read from Secrets Manager by ARN on AWS; the STT key is injected by ECS.
  MEDIA_INGEST_CALLBACK_SECRET: { schema: z.string().min(16, 'must be at least 16 characters').optional(), kind: 'string', readers: CALLBACKS, secret: true },
  MEDIA_INGEST_STT_API_KEY: { schema: z.string().optional(), kind: 'string', readers: ['worker'], secret: true },
  // Set by the platform (Lambda and ECS set AWS_REGION; the local runtime sets path-style S3 for s3rver).
  S3_FORCE_PATH_STYLE: { schema: bool, kind: 'bool', readers: ALL },
  AWS_REGION: { schema: z.string().default('us-east-1'), kind: 'string', readers: ALL },
} satisfies Record<string, Variable>;

type Variables = typeof VARIABLES;
export type VariableName = keyof Variables;

for (const [name, v] of Object.entries(VARIABLES) as Array<[string, Variable]>) if (v.setting === '') v.setting = settingName(name);

const ConfigSchema = z.object(Object.fromEntries(Object.entries(VARIABLES).map(([k, v]) => [k, v.schema])) as { [K in VariableName]: Variables[K]['schema'] });

export type Config = z.infer<typeof ConfigSchema>;

/** Every variable name the product reads (the README's table must list them all). */
export const CONFIG_VARIABLES = Object.keys(VARIABLES) as VariableName[];

/** The variables a component reads. */
export function variablesOf(component: Component): VariableName[] {
  return CONFIG_VARIABLES.filter((name) => (VARIABLES[name].readers as readonly Component[]).includes(component));
}

/** The variables a component cannot start without. */
export function requiredOf(component: Component): VariableName[] {
  return variablesOf(component).filter((name) => (VARIABLES[name] as Variable).required);
}

/** Who reads a variable, as the README's configuration table says it. */
export function readersText(name: VariableName): string {
  const readers = VARIABLES[name].readers as readonly Component[];
  return readers.length === ALL.length ? 'all' : readers.map((r) => (r === 'statemachine' ? 'state machine' : r)).join(', ');
}

export function isSecret(name: VariableName): boolean {
  return (VARIABLES[name] as Variable).secret === true;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * A component's configuration from its environment: only the variables its contract names are read (any other is
 * left at its default), and an invalid or missing one is named in the error. Called once per component, at its entry.
 */
export function loadConfig(component: Component, env: Record<string, string | undefined>): Config {
  const own = variablesOf(component);
  const picked = Object.fromEntries(own.filter((name) => env[name] !== undefined).map((name) => [name, env[name]]));
  for (const name of requiredOf(component)) {
    if (!picked[name]) throw new ConfigError(`configuration variable ${name} is not set (${component} needs it)`);
  }
  // Only the component's own variables are parsed: another's required resource is not this one's concern.
  const parsed = ConfigSchema.pick(Object.fromEntries(own.map((name) => [name, true])) as Record<VariableName, true>).safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`configuration variable ${String(issue.path[0])} is invalid: ${issue.message}`);
  }
  // Typed as the whole configuration; what a component does not read stays unset (its contract says so).
  return parsed.data as Config;
}

// ---- Settings: what a platform team may change, as stack props and context keys.

type SettingVariables = { [K in VariableName]: Variables[K] extends { setting: string } ? K : never }[VariableName];
type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${Lowercase<H>}${Capitalize<Camel<T>>}` : Lowercase<S>;
type SettingKey<K extends string> = K extends `MEDIA_INGEST_${infer R}` ? Camel<R> : Camel<K>;
type SettingValue<K extends Kind> = K extends 'list' ? readonly string[] : K extends 'int' ? number : K extends 'bool' ? boolean : string;

/** Every setting, typed: `maxBytes: number`, `allowHosts: string[]`, `transcribeEngine: string[]` (in fallback order)… */
export type Settings = { readonly [K in SettingVariables as SettingKey<K>]?: SettingValue<Variables[K]['kind']> };

/** Each setting's name and the variable it becomes. */
export const SETTINGS: ReadonlyArray<{ setting: string; variable: VariableName; kind: Kind }> = CONFIG_VARIABLES.flatMap((name) => {
  const v = VARIABLES[name] as Variable;
  return v.setting ? [{ setting: v.setting, variable: name, kind: v.kind }] : [];
});

/** A setting as the environment variable's text. */
function asText(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * The settings as variables, checked against their schemas so a bad prop fails the synth with its name.
 * Unset settings are left out: the component's schema default applies.
 */
export function settingsToVariables(settings: Settings): Partial<Record<VariableName, string>> {
  const out: Partial<Record<VariableName, string>> = {};
  for (const { setting, variable } of SETTINGS) {
    const value = (settings as Record<string, unknown>)[setting];
    if (value === undefined) continue;
    const text = asText(value);
    const parsed = VARIABLES[variable].schema.safeParse(text);
    if (!parsed.success) throw new ConfigError(`setting ${setting} is invalid: ${parsed.error.issues[0]!.message}`);
    out[variable] = text;
  }
  return out;
}

/** Settings from strings (CDK context keys, or the local runtime's environment variables), by setting name. */
export function settingsFromText(lookup: (setting: string, variable: VariableName) => string | undefined): Settings {
  const out: Record<string, unknown> = {};
  for (const { setting, variable, kind } of SETTINGS) {
    const text = lookup(setting, variable);
    if (text === undefined || text === '') continue;
    out[setting] = kind === 'list' ? text.split(',').map((s) => s.trim()).filter(Boolean) : kind === 'int' ? Number(text) : kind === 'bool' ? text === 'true' : text;
  }
  return out as Settings;
}

/** One variable's value as its readers parse it (default applied): for CDK, which sizes resources from settings too. */
export function valueOf<K extends VariableName>(name: K, values: Partial<Record<VariableName, string>>): z.infer<Variables[K]['schema']> {
  const parsed = VARIABLES[name].schema.safeParse(values[name]);
  if (!parsed.success) throw new ConfigError(`configuration variable ${name} is invalid: ${parsed.error.issues[0]!.message}`);
  return parsed.data as z.infer<Variables[K]['schema']>;
}

/**
 * A component's environment: the resources and settings its contract names, nothing else. Secrets are never
 * given here; a required resource that is missing fails the synth.
 */
export function componentEnvironment(component: Component, values: Partial<Record<VariableName, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of variablesOf(component)) {
    if (isSecret(name)) continue;
    const value = values[name];
    if (value !== undefined) env[name] = value;
  }
  for (const name of requiredOf(component)) {
    if (env[name] === undefined) throw new ConfigError(`${component} needs ${name}, which the deployment does not set`);
  }
  return env;
}

/**
 * The CLI's own variables: they shape the local runtime only, so no deployed component reads them and AWS never sets
 * them. Flags (`--data-dir`, `--workers`) take precedence.
 */
const CliConfigSchema = z.object({
  MEDIA_INGEST_DATA_DIR: z.string().min(1).default('.media-ingest'),
  MEDIA_INGEST_WORKERS: z.string().optional(),
});
export type CliConfig = z.infer<typeof CliConfigSchema>;

export function cliConfig(env: Record<string, string | undefined>): CliConfig {
  return CliConfigSchema.parse({ MEDIA_INGEST_DATA_DIR: env.MEDIA_INGEST_DATA_DIR || undefined, MEDIA_INGEST_WORKERS: env.MEDIA_INGEST_WORKERS });
}
