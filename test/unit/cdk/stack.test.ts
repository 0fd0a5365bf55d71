import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { MediaIngestStack } from '../../../cdk/stack.js';
import { ASL_PATH } from '../../../local/engine.js';
import { LOCAL_SUBSTITUTIONS } from '../../../local/substitutions.js';

const template = Template.fromStack(new MediaIngestStack(new App(), 'Test'));

describe('the CDK stack', () => {
  it('passes exactly the substitution keys the ASL uses, and so does the local runtime', () => {
    const aslKeys = [...new Set([...readFileSync(ASL_PATH, 'utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]!;
    const cdkKeys = Object.keys(machine.Properties.DefinitionSubstitutions as object).sort();
    expect(cdkKeys).toEqual(aslKeys);
    expect(Object.keys(LOCAL_SUBSTITUTIONS).sort()).toEqual(aslKeys);
  });

  it('runs a STANDARD state machine with ALL logging and X-Ray tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });

  it('keeps both buckets private, encrypted and TLS-only, and expires staging', () => {
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.allResourcesProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'staging/', ExpirationInDays: 7 })]) },
    });
    template.allResourcesProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('keys job records by tenant and job id, with a TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'tenant', KeyType: 'HASH' },
        { AttributeName: 'jobId', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('runs the worker on Fargate as non-root with a read-only root filesystem', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      EphemeralStorage: { SizeInGiB: 50 },
      ContainerDefinitions: [Match.objectLike({ Name: 'media-worker', User: 'node', ReadonlyRootFilesystem: true })],
    });
  });

  it('bundles five Lambdas on a current Node.js runtime', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => (f.Properties.Handler as string) === 'index.handler',
    );
    expect(functions).toHaveLength(5);
    for (const f of functions) expect(f.Properties.Runtime).toBe('nodejs22.x');
  });

  it('authorises every API method with IAM', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter((m) => m.Properties.HttpMethod !== 'OPTIONS');
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual(['GET', 'POST']);
    for (const m of methods) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
  });
});
