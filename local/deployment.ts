import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Component, Settings } from '../core/config.js';
import type { QueueShape } from './queue.js';
import { LOCAL_OUTPUTS, LOCAL_SUBSTITUTIONS } from './substitutions.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What decides the template and the worker bundle: a change to any of these synthesises again. */
const SOURCES = ['cdk', 'core', 'containers', 'statemachine', 'package-lock.json'];
export const CACHE = join(tmpdir(), 'media-ingest-deployments');
const STACK = 'Local';

/** What the synthesised stack deploys, with local values in place of its ARNs and names. */
export interface Deployment {
  /** Each Lambda's environment, by component, as the template sets it. */
  functions: Partial<Record<Component, Record<string, string>>>;
  /** Each Lambda's MemorySize and Timeout, by component, as the template sets them. */
  limits: Partial<Record<Component, FunctionLimits>>;
  /** The worker task's environment, as the template sets it. */
  worker: Record<string, string>;
  /** Variables ECS injects into the worker from Secrets Manager (their values come from the host locally). */
  workerSecrets: string[];
  /** The state machine's definition, placeholders in (the engine fills in the local substitutions). */
  definition: string;
  /** The worker bundle the image runs (main.mjs in the image folder). */
  workerBundle: string;
  /** The work queue's attributes (visibility timeout, message size, receives before the dead-letter queue). */
  queue: QueueShape;
  /** The synthesised template itself (its roles are what the offline IAM check evaluates calls against). */
  templateFile: string;
}

/** What Lambda holds a function to: its memory (MiB) and the seconds an invocation may run. */
export interface FunctionLimits {
  memoryMb: number;
  timeoutSeconds: number;
}

/** CloudFormation's defaults for a function that sets neither. */
const LAMBDA_DEFAULTS: FunctionLimits = { memoryMb: 128, timeoutSeconds: 3 };

type Json = unknown;
interface Resource {
  Type: string;
  Properties: Record<string, Json>;
}

/** A digest of every file under these paths (relative to the repository). */
export function sourceDigest(sources: string[]): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
    else hash.update(path).update(readFileSync(path));
  };
  for (const source of sources) walk(join(ROOT, source));
  return hash.digest('hex');
}

/**
 * Maps the template's references to local values: an intrinsic (Ref, Fn::GetAtt…) is local when the ASL's
 * substitutions or the stack's outputs name the same intrinsic. Anything else is an error naming it.
 */
function resolver(template: { Resources: Record<string, Resource>; Outputs?: Record<string, { Value: Json }> }, machine: Resource) {
  const known = new Map<string, string>();
  const substitutions = (machine.Properties.DefinitionSubstitutions ?? {}) as Record<string, Json>;
  for (const [key, value] of Object.entries(substitutions)) {
    known.set(JSON.stringify(value), LOCAL_SUBSTITUTIONS[key as keyof typeof LOCAL_SUBSTITUTIONS]);
  }
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    const local = LOCAL_OUTPUTS[name as keyof typeof LOCAL_OUTPUTS];
    if (local) known.set(JSON.stringify(output.Value), local);
  }
  return (value: Json, where: string): string => {
    if (typeof value === 'string') return value;
    const local = known.get(JSON.stringify(value));
    if (local === undefined) throw new Error(`the local runtime has no value for ${JSON.stringify(value)} (${where})`);
    return local;
  };
}

function ofType(template: { Resources: Record<string, Resource> }, type: string): Resource[] {
  return Object.values(template.Resources).filter((r) => r.Type === type);
}

/** The attributes of the queue the ASL sends steps to (its `WorkQueueUrl` substitution is a Ref to it). */
function queueShape(template: { Resources: Record<string, Resource> }, machine: Resource): QueueShape {
  const ref = ((machine.Properties.DefinitionSubstitutions ?? {}) as Record<string, { Ref?: string }>).WorkQueueUrl?.Ref;
  const queue = ref ? template.Resources[ref] : undefined;
  if (queue?.Type !== 'AWS::SQS::Queue') throw new Error('the template names no work queue for WorkQueueUrl');
  const p = queue.Properties as { VisibilityTimeout?: number; MaximumMessageSize?: number; RedrivePolicy?: { maxReceiveCount?: number } };
  if (!p.VisibilityTimeout || !p.RedrivePolicy?.maxReceiveCount) throw new Error('the work queue has no visibility timeout or redrive policy');
  return { visibilityTimeout: p.VisibilityTimeout, maxReceiveCount: p.RedrivePolicy.maxReceiveCount, maximumMessageSize: p.MaximumMessageSize };
}

/** Reads what the local runtime needs out of a synthesised assembly. */
function extract(outdir: string): Deployment {
  const template = JSON.parse(readFileSync(join(outdir, `${STACK}.template.json`), 'utf8'));
  const [machine] = ofType(template, 'AWS::StepFunctions::StateMachine');
  if (!machine || typeof machine.Properties.DefinitionString !== 'string') throw new Error('the template has no inline state machine definition');
  const resolve = resolver(template, machine);
  const functions: Deployment['functions'] = {};
  const limits: Deployment['limits'] = {};
  for (const fn of ofType(template, 'AWS::Lambda::Function')) {
    const component = /^media-ingest (.+) function$/.exec(String(fn.Properties.Description ?? ''))?.[1] as Component | undefined;
    if (!component) continue;
    const variables = ((fn.Properties.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {}) as Record<string, Json>;
    functions[component] = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(v, `${component} ${k}`)]));
    const { MemorySize, Timeout } = fn.Properties as { MemorySize?: number; Timeout?: number };
    limits[component] = { memoryMb: MemorySize ?? LAMBDA_DEFAULTS.memoryMb, timeoutSeconds: Timeout ?? LAMBDA_DEFAULTS.timeoutSeconds };
  }
  const [task] = ofType(template, 'AWS::ECS::TaskDefinition');
  const container = (task!.Properties.ContainerDefinitions as Array<{ Environment?: Array<{ Name: string; Value: Json }>; Secrets?: Array<{ Name: string }>; Image: Json }>)[0]!;
  const worker = Object.fromEntries((container.Environment ?? []).map((e) => [e.Name, resolve(e.Value, `worker ${e.Name}`)]));
  // The image's tag is its asset hash: the asset manifest says which folder was built into it.
  const tag = /:([0-9a-f]{64})$/.exec(JSON.stringify(container.Image).replace(/"}$/, ''))?.[1];
  const assets = JSON.parse(readFileSync(join(outdir, `${STACK}.assets.json`), 'utf8')) as { dockerImages: Record<string, { source: { directory: string } }> };
  const image = tag && assets.dockerImages[tag];
  if (!image) throw new Error('the template names no worker image the assembly has');
  return {
    functions,
    limits,
    worker,
    queue: queueShape(template, machine),
    workerSecrets: (container.Secrets ?? []).map((s) => s.Name),
    definition: machine.Properties.DefinitionString as string,
    workerBundle: join(outdir, image.source.directory, 'main.mjs'),
    templateFile: join(outdir, `${STACK}.template.json`),
  };
}

/** Synthesises the stack in this process (no asset bundling for the Lambdas: the local runtime runs their sources). */
async function synthesize(settings: Settings, options: DeploymentOptions, outdir: string): Promise<void> {
  const [{ App }, { MediaIngestStack }] = await Promise.all([import('aws-cdk-lib'), import('../cdk/stack.js')]);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const workers = options.sttApiKeySecret ? { sttApiKeySecretArn: LOCAL_STT_KEY_ARN } : {};
  new MediaIngestStack(app, STACK, { settings, workers });
  app.synth();
}

/** Stack props that are not settings: whether the worker is given the STT key secret. */
export interface DeploymentOptions {
  sttApiKeySecret?: boolean;
}

/** Says what is happening when a synth is needed (it takes some seconds). */
type Say = (line: string) => void;

/** The STT key secret's ARN here (ECS would inject its value; the runtime gives the host's). */
const LOCAL_STT_KEY_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:media-ingest-stt-key-AbCdEf';

const memory = new Map<string, Promise<Deployment>>();

/** Builds a cache folder once: beside it, then renamed into place, so that no reader sees half of one. */
export async function buildOnce(dir: string, build: (into: string) => Promise<void>): Promise<void> {
  if (existsSync(join(dir, 'done'))) return;
  mkdirSync(dirname(dir), { recursive: true });
  const building = `${dir}.${process.pid}.${Date.now()}`;
  await build(building);
  writeFileSync(join(building, 'done'), '');
  // Another process may have finished the same build meanwhile: either copy will do.
  try {
    renameSync(building, dir);
  } catch {
    rmSync(building, { recursive: true, force: true });
  }
}

/**
 * The deployment CDK would make with these settings, synthesised once per settings and sources and kept on disk,
 * so a later run (or another test) with the same settings reads it instead of synthesising again.
 */
export function deploymentFor(settings: Settings, options: DeploymentOptions = {}, say: Say = () => undefined): Promise<Deployment> {
  const key = createHash('sha256').update(JSON.stringify([settings, options])).update(sourceDigest(SOURCES)).digest('hex').slice(0, 24);
  let found = memory.get(key);
  if (!found) {
    found = (async () => {
      const dir = join(CACHE, key);
      await buildOnce(dir, async (building) => {
        say(`synthesising the CDK stack for these settings (once; kept in ${dir})…`);
        await synthesize(settings, options, building);
      });
      return extract(dir);
    })();
    memory.set(key, found);
  }
  return found;
}
