import { join } from 'node:path';
import { CALL_LOG_VARIABLE } from '../core/component.js';
import { type Component, type Settings, settingsFromText } from '../core/config.js';
import type { WorkerTask } from './pool.js';
import type { Deployment } from './deployment.js';
import { LOCAL_S3_CREDENTIALS, type StandIns } from './standins.js';
import { LOCAL_REGION } from './substitutions.js';

/** The worker task's scratch mount in the template (cdk/constructs/workers.ts); here, the data directory's work/. */
const TASK_SCRATCH = '/scratch';

type Env = Record<string, string | undefined>;

/** The settings a platform team would give the stack: the environment's variables, the given ones, the CLI's hosts. */
export function settingsOf(env: Env, given: Settings = {}, allowHosts: string[] = []): Settings {
  const fromEnv = settingsFromText((_, variable) => env[variable]);
  const hosts = [...(fromEnv.allowHosts ?? []), ...(given.allowHosts ?? []), ...allowHosts];
  return { ...fromEnv, ...given, ...(hosts.length ? { allowHosts: hosts } : {}) };
}

/** What the platform gives every component here: the stand-ins' endpoints and credentials, the region. */
export function platformEnv(standIns: StandIns, sfnEndpoint: string, sqsEndpoint: string, dataDir: string): Record<string, string> {
  return {
    // Every AWS call each component makes, for the offline IAM check (in scratch: the sandboxed worker writes there).
    [CALL_LOG_VARIABLE]: join(dataDir, 'work', 'aws-calls.jsonl'),
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_S3: standIns.s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: standIns.dynamoEndpoint,
    AWS_ENDPOINT_URL_SFN: sfnEndpoint,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    S3_FORCE_PATH_STYLE: 'true',
  };
}

/** Endpoints the host names for services without a stand-in here (Amazon Transcribe, an STT API's proxy…). */
function hostEndpoints(host: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(host).filter((e): e is [string, string] => e[0].startsWith('AWS_ENDPOINT_URL_') && !!e[1]));
}

/** The host's log level, which the components' loggers follow here as they do the function's or task's on AWS. */
function logLevel(host: Env): Record<string, string> {
  return host.POWERTOOLS_LOG_LEVEL ? { POWERTOOLS_LOG_LEVEL: host.POWERTOOLS_LOG_LEVEL } : {};
}

/** A Lambda's environment here: the template's, with the callback key from the host instead of its secret's ARN. */
export function lambdaEnvironment(deployment: Deployment, component: Component, platform: Record<string, string>, host: Env): Record<string, string> {
  const template = deployment.functions[component];
  if (!template) throw new Error(`the template has no function for ${component}`);
  const env: Record<string, string> = { ...template, ...hostEndpoints(host), ...platform, ...logLevel(host) };
  if (env.MEDIA_INGEST_CALLBACK_SECRET_ARN !== undefined) {
    delete env.MEDIA_INGEST_CALLBACK_SECRET_ARN;
    if (host.MEDIA_INGEST_CALLBACK_SECRET) env.MEDIA_INGEST_CALLBACK_SECRET = host.MEDIA_INGEST_CALLBACK_SECRET;
  }
  return env;
}

/**
 * The worker task here: the image's bundle, the task definition's environment with `/scratch` at `work` and the SQS
 * stand-in's URL of the work queue, the secrets ECS would inject (from the host), the stand-ins. The image's PATH
 * finds its tools; here the host's does.
 */
export function workerTask(deployment: Deployment, platform: Record<string, string>, host: Env, work: string, sandbox: boolean, workQueueUrl: string): WorkerTask {
  const local = (v: string) => (v === TASK_SCRATCH || v.startsWith(`${TASK_SCRATCH}/`) ? work + v.slice(TASK_SCRATCH.length) : v);
  const env = Object.fromEntries(Object.entries(deployment.worker).map(([k, v]) => [k, local(v)]));
  const injected = Object.fromEntries(deployment.workerSecrets.flatMap((name) => (host[name] ? [[name, host[name]!]] : [])));
  return {
    bundle: deployment.workerBundle,
    env: { ...env, WORK_QUEUE_URL: workQueueUrl, ...injected, ...hostEndpoints(host), ...platform, PATH: host.PATH ?? '/usr/bin:/bin', ...logLevel(host) },
    scratch: work,
    sandbox,
  };
}
