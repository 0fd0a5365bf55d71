import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { MediaIngestStack } from '../../../cdk/stack.js';
import { type Component, COMPONENTS, isSecret, requiredOf, settingsFromText, variablesOf } from '../../../core/config.js';
import { unbundledApp } from '../../fixtures/cdk.js';

type Env = Record<string, unknown>;

/** Each component's environment in a synthesised template: the Lambdas by their description, the worker's container. */
function environments(template: Template): Map<Component, Env> {
  const out = new Map<Component, Env>();
  for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
    const component = /^media-ingest (.+) function$/.exec(String(fn.Properties.Description ?? ''))?.[1];
    if (component) out.set(component as Component, fn.Properties.Environment?.Variables ?? {});
  }
  const [task] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  const [container] = task!.Properties.ContainerDefinitions as Array<{ Environment: Array<{ Name: string; Value: unknown }> }>;
  out.set('worker', Object.fromEntries(container!.Environment.map((e) => [e.Name, e.Value])));
  return out;
}

/** What `cdk synth -c key=value …` does: the app's settings from context keys. */
function synthWithContext(context: Record<string, string>): Template {
  const app = unbundledApp(context);
  const settings = settingsFromText((setting) => app.node.tryGetContext(setting) as string | undefined);
  return Template.fromStack(new MediaIngestStack(app, 'Contract', { settings }));
}

describe('the configuration contract, over the synthesised template', () => {
  const template = synthWithContext({});
  const envs = environments(template);

  it('has an environment for every component that runs', () => {
    expect([...envs.keys()].sort()).toEqual(COMPONENTS.filter((c) => c !== 'statemachine').sort());
  });

  it.each(COMPONENTS.filter((c) => c !== 'statemachine'))('gives %s every variable it requires, and none it does not read', (component) => {
    const env = envs.get(component)!;
    for (const name of requiredOf(component)) expect(env).toHaveProperty([name]);
    const reads = new Set<string>(variablesOf(component).filter((n) => !isSecret(n)));
    expect(Object.keys(env).filter((name) => !reads.has(name))).toEqual([]);
  });

  it('puts `-c transcribeEngine=openai -c allowHosts=media.example.com` in the worker environment', () => {
    const worker = environments(synthWithContext({ transcribeEngine: 'openai,pocketsphinx', allowHosts: 'media.example.com' })).get('worker')!;
    expect(worker).toMatchObject({ MEDIA_INGEST_TRANSCRIBE_ENGINE: 'openai,pocketsphinx', MEDIA_INGEST_ALLOW_HOSTS: 'media.example.com' });
    // And to classify, which applies the same egress policy first.
    expect(environments(synthWithContext({ allowHosts: 'media.example.com' })).get('classify')).toMatchObject({ MEDIA_INGEST_ALLOW_HOSTS: 'media.example.com' });
  });

  it('writes the job and step timeouts into the definition it deploys', () => {
    const t = synthWithContext({ jobTimeoutSeconds: '600', extractTimeoutSeconds: '120' });
    const [machine] = Object.values(t.findResources('AWS::StepFunctions::StateMachine'));
    const definition = JSON.parse(machine!.Properties.DefinitionString as string);
    expect(definition.TimeoutSeconds).toBe(600);
    expect(definition.States.Extract.TimeoutSeconds).toBe(120);
    expect(definition.States.Merge.TimeoutSeconds).toBe(3600);
  });

  it('refuses a bad setting by name at synth', () => {
    expect(() => synthWithContext({ maxBytes: 'lots' })).toThrow(/maxBytes/);
  });
});

describe('the worker image', () => {
  const dockerfile = readFileSync(fileURLToPath(new URL('../../../containers/media-worker/Dockerfile', import.meta.url)), 'utf8');
  const packages = /apt-get install -y --no-install-recommends ([^&]+)&&/.exec(dockerfile.replace(/\\\n/g, ' '))![1]!.trim().split(/\s+/);

  it('builds on Debian bookworm, whose release this machine runs', () => {
    expect(dockerfile).toMatch(/^FROM node:\d+-bookworm-slim$/m);
    expect(readFileSync('/etc/os-release', 'utf8')).toMatch(/VERSION_CODENAME=bookworm/);
  });

  it.each(packages)('installs %s, a package Debian bookworm has', (name) => {
    // apt-cache knows every package of the configured bookworm archive once its lists are fetched (the setup does that).
    const policy = execFileSync('apt-cache', ['policy', name]).toString();
    expect(policy).toMatch(/Candidate: (?!\(none\))\S+/);
  });

  it('has no npm step: the bundle is built at synth time', () => {
    expect(dockerfile).not.toMatch(/npm (ci|install)/);
    expect(dockerfile).toMatch(/COPY main\.mjs/);
  });
});
