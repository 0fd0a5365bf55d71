import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { MediaIngestStack } from '../../cdk/stack.js';
import { ERROR_CODES, isStableCode } from '../../core/errors.js';
import { ClassifyCheckpointSchema } from '../../core/job.js';
import { ASL_PATH } from '../../local/engine.js';
import { PREFIXES } from '../../core/storage.js';
import { JOBS_TABLE_SHAPE } from '../../local/standins.js';
import { unbundledApp } from '../fixtures/cdk.js';

interface State {
  Type: string;
  Choices?: Array<{ Or?: Array<{ Variable: string; StringEquals: string }>; Next: string }>;
  Retry?: Array<{ ErrorEquals: string[] }>;
  Catch?: Array<{ ErrorEquals: string[] }>;
}
const definition = JSON.parse(readFileSync(ASL_PATH, 'utf8')) as { States: Record<string, State> };
const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const sources = ['cdk', 'core', 'lambdas', 'local', 'containers'].flatMap((dir) =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)),
);

describe('contracts between the parts', () => {
  it("routes exactly the schema's source kinds to an extraction", () => {
    const routed = definition.States.Route!.Choices!.flatMap((c) => c.Or ?? []).map((c) => c.StringEquals);
    expect(routed.sort()).toEqual([...ClassifyCheckpointSchema.shape.kind.options].sort());
  });

  it('matches in Retry and Catch only known codes, States.* or the integrated services\' own errors', () => {
    const names = Object.values(definition.States).flatMap((s) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals));
    const unknown = names.filter((n) => !isStableCode(n));
    expect(unknown).toEqual([]);
  });

  it('lists every error code a record can carry in the README', () => {
    expect(ERROR_CODES.filter((code) => !readme.includes(`\`${code}\``))).toEqual([]);
  });

  it('names the storage prefixes only in core/storage.ts', () => {
    const literal = new RegExp(`['"\`](${Object.values(PREFIXES).join('|')})`);
    const naming = sources.filter((f) => f !== join('core', 'storage.ts') && literal.test(readFileSync(join(root, f), 'utf8')));
    expect(naming).toEqual([]);
  });

  it("names in the README's layout every source file, and none that is gone", () => {
    // The tests' own folder is described by kind, not file by file.
    const layout = readme.slice(readme.indexOf('statemachine/   pipeline'), readme.indexOf('## Configuration')).replace(/^test\/.*\n( .*\n)*/m, '');
    const named = new Set(layout.match(/[\w.-]+\.(?:ts|json|md|sh)\b|<name>\.ts|Dockerfile/g));
    const tracked = ['statemachine', 'lambdas', 'containers', 'core', 'local', 'cdk', 'bench', 'scripts'].flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }).filter((f) => /(\.(ts|json|md|sh)|Dockerfile)$/.test(f)),
    );
    // A Lambda's logic is `lambdas/<name>/<name>.ts`, which the layout names once as `<name>.ts`.
    const basenames = new Set(tracked.map((f) => f.split('/')).map((p) => (p.at(-1) === `${p.at(-2)}.ts` ? '<name>.ts' : p.at(-1)!)));
    expect([...basenames].filter((f) => !named.has(f))).toEqual([]);
    expect([...named].filter((f) => !basenames.has(f))).toEqual([]);
  });

  it('keeps every source file within 300 lines', () => {
    const long = sources.filter((f) => readFileSync(join(root, f), 'utf8').split('\n').length > 301);
    expect(long).toEqual([]);
  });

  it('has no import cycle among the sources', () => {
    // A dozen lines of graph walk rather than a dependency-graph package and its tree of dependencies.
    const imports = (file: string) =>
      [...readFileSync(join(root, file), 'utf8').matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)\.js'/gm)].map((m) => join(dirname(file), `${m[1]}.ts`));
    const cycles: string[][] = [];
    const walk = (file: string, path: string[]) => {
      if (path.includes(file)) return void cycles.push([...path.slice(path.indexOf(file)), file]);
      if (path.length > 40) return;
      for (const next of imports(file)) if (sources.includes(next)) walk(next, [...path, file]);
    };
    for (const file of sources) walk(file, []);
    expect(cycles).toEqual([]);
  });

  it('keys and indexes the local jobs table as the CDK table', () => {
    const template = Template.fromStack(new MediaIngestStack(unbundledApp(), 'Contracts'));
    const [table] = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
    const props = table!.Properties as Record<string, Array<Record<string, unknown>>>;
    const sortBy = <T extends Record<string, unknown>>(xs: T[], key: string) => [...xs].sort((a, b) => String(a[key]).localeCompare(String(b[key])));
    expect(props.KeySchema).toEqual(JOBS_TABLE_SHAPE.KeySchema);
    expect(sortBy(props.AttributeDefinitions!, 'AttributeName')).toEqual(sortBy(JOBS_TABLE_SHAPE.AttributeDefinitions, 'AttributeName'));
    expect(props.GlobalSecondaryIndexes!.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection }))).toEqual(JOBS_TABLE_SHAPE.GlobalSecondaryIndexes);
  });
});
