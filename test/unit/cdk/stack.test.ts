import { COMPONENTS } from '../../../core/config.js';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MediaIngestStack } from '../../../cdk/stack.js';
import { API_ROUTES } from '../../../core/api-routes.js';
import { ASL_PATH } from '../../../local/engine.js';
import { unbundledApp } from '../../fixtures/cdk.js';
import { LOCAL_SUBSTITUTIONS } from '../../../local/substitutions.js';

// The one synth with real bundling (the Lambdas' esbuild); every other app here skips it.
const app = new App();
const stack = new MediaIngestStack(app, 'Test', { settings: { callbackAllowHosts: ['hooks.example.com'] } });
const template = Template.fromStack(stack);
// CloudFormation properties are untyped JSON; the assertions below say what shape they expect.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const asl = readFileSync(ASL_PATH, 'utf8');
const machine = ofType('AWS::StepFunctions::StateMachine')[0]![1];
const substitutions = machine.Properties.DefinitionSubstitutions as Record<string, unknown>;
const logicalId = (ref: unknown) => JSON.stringify(ref).match(/"(?:Ref|Fn::GetAtt)":\[?"([A-Za-z0-9]+)"/)?.[1];

describe('the CDK stack', () => {
  it('passes exactly the substitution keys the ASL uses, and so does the local runtime', () => {
    const aslKeys = [...new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
    expect(Object.keys(substitutions).sort()).toEqual(aslKeys);
    expect(Object.keys(LOCAL_SUBSTITUTIONS).sort()).toEqual(aslKeys);
  });

  it('is clean under cdk-nag AwsSolutions, every acknowledgement with a reason', () => {
    const nagged = unbundledApp();
    new MediaIngestStack(nagged, 'Nagged');
    Validations.of(nagged).addPlugins(new AwsSolutionsChecks(nagged));
    expect(() => nagged.synth()).not.toThrow();
  });

  it('fails the synth on an unacknowledged cdk-nag finding', () => {
    const nagged = unbundledApp();
    const s = new MediaIngestStack(nagged, 'Nagged');
    new s3.Bucket(s, 'Careless');
    Validations.of(nagged).addPlugins(new AwsSolutionsChecks(nagged));
    expect(() => nagged.synth()).toThrow();
  });

  it('hard-codes no physical names, so two stages coexist in one account', () => {
    const named = ['BucketName', 'TableName', 'FunctionName', 'StateMachineName', 'QueueName', 'TopicName', 'ClusterName', 'RoleName', 'Name'];
    for (const [id, r] of Object.entries(resources)) {
      if (['AWS::ApiGateway::RestApi', 'AWS::ApiGateway::Model', 'AWS::ApiGateway::RequestValidator'].includes(r.Type)) continue;
      for (const key of named) expect({ id, [key]: typeof r.Properties?.[key] === 'string' ? r.Properties[key] : undefined }).toEqual({ id, [key]: undefined });
    }
    const two = unbundledApp();
    new MediaIngestStack(two, 'StageA');
    new MediaIngestStack(two, 'StageB');
    expect(() => two.synth()).not.toThrow();
  });
});

describe('storage', () => {
  const buckets = ofType('AWS::S3::Bucket');
  const staging = buckets.find(([id]) => id.startsWith('StorageStaging'))![1];
  const artifacts = buckets.find(([id]) => id.startsWith('StorageArtifacts'))![1];

  it('blocks public access and encrypts every bucket', () => {
    expect(buckets).toHaveLength(3);
    for (const [, b] of buckets) {
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    }
  });

  it('refuses plain HTTP on every bucket', () => {
    const policies = ofType('AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(3);
    for (const [, p] of policies) {
      expect(p.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      );
    }
  });

  it('expires staging/ and uploads/ and aborts incomplete multipart uploads', () => {
    expect(staging.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: 'staging/', ExpirationInDays: 7, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'uploads/', ExpirationInDays: 7, Status: 'Enabled' }),
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
      ]),
    );
  });

  it('logs access to staging and artifacts into the access-log bucket', () => {
    for (const b of [staging, artifacts]) expect(logicalId(b.Properties.LoggingConfiguration.DestinationBucketName)).toMatch(/^StorageAccessLogs/);
  });

  it('uses a customer-managed key when one is given (in a stack with an explicit region)', () => {
    const withKey = unbundledApp();
    const env = { account: '111111111111', region: 'eu-west-1' };
    const key = new kms.Key(new Stack(withKey, 'Keys', { env }), 'Key');
    const t = Template.fromStack(new MediaIngestStack(withKey, 'WithKey', { encryptionKey: key, env }));
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
    });
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS' } });
  });
});

describe('the jobs table', () => {
  it("is on demand, with point-in-time recovery, a TTL and an index of a tenant's jobs by time", () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'tenant', KeyType: 'HASH' },
        { AttributeName: 'jobId', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'byCreatedAt', KeySchema: [{ AttributeName: 'tenant', KeyType: 'HASH' }, { AttributeName: 'createdAt', KeyType: 'RANGE' }] }),
      ],
    });
  });
});

describe('the workers', () => {
  it('run on Fargate with CPU, memory and ephemeral storage set, as non-root, read-only, with a scratch volume', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      Cpu: '2048',
      Memory: '4096',
      EphemeralStorage: { SizeInGiB: 50 },
      Volumes: [{ Name: 'scratch' }],
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'media-worker',
          User: 'node',
          ReadonlyRootFilesystem: true,
          MountPoints: [{ SourceVolume: 'scratch', ContainerPath: '/scratch', ReadOnly: false }],
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
  });

  it('keep their logs for a bounded time', () => {
    for (const [, g] of ofType('AWS::Logs::LogGroup')) expect(g.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('sit in private subnets with one controlled way out (one NAT gateway) and flow logs', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    // S3 and DynamoDB go through gateway endpoints, not the NAT gateway.
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    const privateSubnets = ofType('AWS::EC2::Subnet').filter(([, s]) => s.Properties.MapPublicIpOnLaunch === false);
    expect(privateSubnets).toHaveLength(2);
    // The worker service runs its tasks there, without public addresses.
    const [, service] = ofType('AWS::ECS::Service')[0]!;
    const vpcConfig = service.Properties.NetworkConfiguration.AwsvpcConfiguration;
    expect(vpcConfig.AssignPublicIp).toBe('DISABLED');
    expect(vpcConfig.Subnets.map(logicalId).sort()).toEqual(privateSubnets.map(([id]) => id).sort());
  });
});

describe('the work queue and the worker service', () => {
  const queues = ofType('AWS::SQS::Queue');
  const [workId, work] = queues.find(([id]) => id.startsWith('WorkersWorkQueue'))!;
  const [deadId, dead] = queues.find(([id]) => id.startsWith('WorkersWorkDeadLetters'))!;
  const policyOf = (id: string) => ofType('AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues.some((q: unknown) => logicalId(q) === id))![1];

  it('is the queue the ASL sends steps to: encrypted, TLS-only, 256 KiB messages, a dead-letter queue after 3 receives', () => {
    expect(logicalId(substitutions.WorkQueueUrl)).toBe(workId);
    expect(work.Properties).toMatchObject({ SqsManagedSseEnabled: true, MaximumMessageSize: 262144, VisibilityTimeout: 60, RedrivePolicy: { maxReceiveCount: 3 } });
    expect(logicalId(work.Properties.RedrivePolicy.deadLetterTargetArn)).toBe(deadId);
    expect(dead.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    for (const id of [workId, deadId]) {
      expect(policyOf(id).Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('takes its visibility timeout and receive count from the settings', () => {
    const t = new MediaIngestStack(unbundledApp(), 'Tuned', { settings: { visibilityTimeoutSeconds: 300, maxReceiveCount: 5 } });
    const [, q] = Object.entries(Template.fromStack(t).findResources('AWS::SQS::Queue')).find(([id]) => id.startsWith('WorkersWorkQueue'))!;
    expect(q.Properties).toMatchObject({ VisibilityTimeout: 300, RedrivePolicy: { maxReceiveCount: 5 } });
  });

  it('alarms on dead letters and on the age of the oldest waiting step', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const on = (metric: string, queue: string) => alarms.filter((a) => a.MetricName === metric && a.Dimensions?.some((d: { Value: unknown }) => logicalId(d.Value) === queue));
    expect(on('ApproximateNumberOfMessagesVisible', deadId)).toHaveLength(1);
    expect(on('ApproximateAgeOfOldestMessage', workId)).toEqual([expect.objectContaining({ AlarmActions: [expect.anything()] })]);
  });

  it('is consumed by a Fargate service of the worker task, from 0 to 20 tasks, scaling on the backlog every minute', () => {
    const [serviceId, service] = ofType('AWS::ECS::Service')[0]!;
    expect(service.Properties).toMatchObject({ LaunchType: 'FARGATE', DesiredCount: 0 });
    expect(logicalId(service.Properties.TaskDefinition)).toBe(ofType('AWS::ECS::TaskDefinition')[0]![0]);
    const [, target] = ofType('AWS::ApplicationAutoScaling::ScalableTarget')[0]!;
    expect(target.Properties).toMatchObject({ MinCapacity: 0, MaxCapacity: 20, ScalableDimension: 'ecs:service:DesiredCount' });
    expect(JSON.stringify(target.Properties.ResourceId)).toContain(serviceId);
    const policies = ofType('AWS::ApplicationAutoScaling::ScalingPolicy').map(([, p]) => p.Properties.StepScalingPolicyConfiguration);
    expect(policies.every((p) => p.AdjustmentType === 'ExactCapacity' && p.Cooldown === 60)).toBe(true);
    // Up: one task per waiting or running step (concurrency 1), up to 20; down: none when the queue is empty.
    const up = policies.find((p) => p.StepAdjustments.length > 1)!;
    expect(up.StepAdjustments.map((a: { ScalingAdjustment: number }) => a.ScalingAdjustment)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const down = policies.find((p) => p.StepAdjustments.length === 1)!;
    expect(down.StepAdjustments[0].ScalingAdjustment).toBe(0);
    const scalingAlarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties).filter((a) => a.Metrics);
    expect(scalingAlarms).toHaveLength(2);
    for (const a of scalingAlarms) {
      expect(a).toMatchObject({ EvaluationPeriods: 1 });
      const metrics = a.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).map((m: { MetricStat: { Metric: { MetricName: string }; Period: number } }) => [m.MetricStat.Metric.MetricName, m.MetricStat.Period]);
      expect(metrics.sort()).toEqual([['ApproximateNumberOfMessagesNotVisible', 60], ['ApproximateNumberOfMessagesVisible', 60]]);
    }
  });

  it('takes minWorkers, maxWorkers and the concurrency per worker as props', () => {
    const t = Template.fromStack(new MediaIngestStack(unbundledApp(), 'Sized', { workers: { minWorkers: 1, maxWorkers: 50 }, settings: { workerConcurrency: 2 } }));
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 50 });
    t.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1 });
    const up = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'))
      .map((p) => p.Properties.StepScalingPolicyConfiguration)
      .find((p) => p.StepAdjustments.length > 1);
    const adjustments = up.StepAdjustments.map((a: { ScalingAdjustment: number }) => a.ScalingAdjustment);
    expect(adjustments.length).toBeLessThanOrEqual(39);
    expect(adjustments.at(-1)).toBe(50);
    expect(Math.min(...adjustments)).toBeGreaterThanOrEqual(1);
  });
});

describe('the workflow', () => {
  it('is a STANDARD state machine logging ALL to a log group, traced by X-Ray', () => {
    expect(machine.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true, Destinations: [expect.anything()] },
    });
  });

  it('has a role allowed exactly what the ASL uses, on exactly those resources', () => {
    const roleId = logicalId(machine.Properties.RoleArn);
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: unknown) => logicalId(r) === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }>);
    const scoped = statements.filter((s) => s.Resource !== '*');
    // What the ASL's Resources need, derived from the file itself.
    const needed = new Set<string>();
    if (asl.includes('arn:aws:states:::lambda:invoke')) needed.add('lambda:InvokeFunction');
    if (asl.includes('arn:aws:states:::dynamodb:updateItem')) needed.add('dynamodb:UpdateItem');
    if (asl.includes('arn:aws:states:::sqs:sendMessage.waitForTaskToken')) needed.add('sqs:SendMessage');
    expect(scoped.flatMap((s) => [s.Action].flat()).sort()).toEqual([...needed].sort());
    const on = (action: string) => [scoped.find((s) => [s.Action].flat().includes(action))!.Resource].flat().map(logicalId).sort();
    expect(on('lambda:InvokeFunction')).toEqual([substitutions.ClassifyFunctionArn, substitutions.PublishFunctionArn, substitutions.NotifyFunctionArn].map(logicalId).sort());
    expect(on('dynamodb:UpdateItem')).toEqual([logicalId(substitutions.JobsTableName)]);
    expect(on('sqs:SendMessage')).toEqual([logicalId(substitutions.WorkQueueUrl)]);
    // Unscoped statements are only the X-Ray and log-delivery APIs, which have no resource-level permissions.
    for (const s of statements.filter((x) => x.Resource === '*')) for (const a of [s.Action].flat()) expect(a).toMatch(/^(xray|logs):/);
  });

  it('lets classify and the worker read uploads (and classify nothing else in staging)', () => {
    /** Every object prefix a role may act on in the staging bucket, with the actions. */
    const grants = (rolePrefix: string) =>
      ofType('AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((r: unknown) => logicalId(r)?.startsWith(rolePrefix)))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
        .filter((st) => JSON.stringify(st.Resource).includes('StorageStaging'))
        .map((st) => ({ actions: [st.Action].flat(), prefix: /"\/([a-z]+\/)\*"/.exec(JSON.stringify(st.Resource))?.[1] }));
    // …and the one object that keeps the real URLs of a request with secrets (core/request-secrets.ts).
    expect(grants('WorkflowClassifyRole')).toEqual([
      { actions: ['s3:GetObject'], prefix: 'uploads/' },
      { actions: ['s3:GetObject'], prefix: undefined },
    ]);
    const secretsGrant = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: unknown) => logicalId(r)?.startsWith('WorkflowClassifyRole')))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Resource: unknown }>)
      .filter((st) => JSON.stringify(st.Resource).includes('request-secrets.json'));
    expect(JSON.stringify(secretsGrant[0]?.Resource)).toContain('/staging/*/request-secrets.json');
    // POST /uploads presigns with its own role: PUT under uploads/, a listing of uploads/ (the quota) and nothing else.
    expect(grants('ApiCreateUploadRole')).toEqual([
      { actions: ['s3:ListBucket'], prefix: undefined },
      { actions: ['s3:PutObject'], prefix: 'uploads/' },
    ]);
    // Completing a multipart upload: the listing, each upload's record, and CompleteMultipartUpload (s3:PutObject).
    expect(grants('ApiCompleteUploadRole')).toEqual([
      { actions: ['s3:ListBucket'], prefix: undefined },
      { actions: ['s3:GetObject'], prefix: undefined },
      { actions: ['s3:PutObject'], prefix: 'uploads/' },
    ]);
    const uploadRoles = ofType('AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles.some((r: unknown) => /^Api(Create|Complete)UploadRole/.test(logicalId(r) ?? '')));
    const uploadStatements = uploadRoles.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }>);
    expect(JSON.stringify(uploadStatements.find((st) => st.Action === 's3:GetObject')?.Resource)).toContain('/uploads/*/.ticket-*');
    for (const st of uploadStatements.filter((x) => x.Action === 's3:ListBucket')) expect(st.Condition).toEqual({ StringLike: { 's3:prefix': 'uploads/*' } });
    const taskRole = logicalId(ofType('AWS::ECS::TaskDefinition')[0]![1].Properties.TaskRoleArn)!;
    expect(grants(taskRole)).toEqual(expect.arrayContaining([{ actions: ['s3:GetObject'], prefix: 'uploads/' }]));
  });

  it('lets publish read staging and write, or abort a multipart copy into, the artifacts prefix', () => {
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: unknown) => logicalId(r)?.startsWith('WorkflowPublishRole')))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
    const on = (bucket: string) =>
      statements
        .filter((st) => JSON.stringify(st.Resource).includes(bucket))
        .map((st) => ({ actions: [st.Action].flat(), prefix: /"\/([a-z]+\/)\*"/.exec(JSON.stringify(st.Resource))?.[1] }));
    expect(on('StorageStaging')).toEqual([{ actions: ['s3:GetObject'], prefix: 'staging/' }]);
    expect(on('StorageArtifacts')).toEqual([{ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], prefix: 'tenants/' }]);
  });

  it('signs callbacks with a generated secret that only start-job, notify and reconcile may read', () => {
    const [secretId, secret] = ofType('AWS::SecretsManager::Secret')[0]!;
    expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 48, ExcludePunctuation: true });
    const functions = ofType('AWS::Lambda::Function').filter(([, f]) => f.Properties.Environment?.Variables?.MEDIA_INGEST_CALLBACK_SECRET_ARN);
    expect(functions.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['ApiStartJob', 'ReconcileFunction', 'WorkflowNotify']);
    for (const [, f] of functions) expect(logicalId(f.Properties.Environment.Variables.MEDIA_INGEST_CALLBACK_SECRET_ARN)).toBe(secretId);
    const readers = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>).some((st) => [st.Action].flat().includes('secretsmanager:GetSecretValue') && logicalId(st.Resource) === secretId))
      .flatMap(([, p]) => (p.Properties.Roles as unknown[]).map((r) => logicalId(r)!.replace(/[0-9A-F]{8}$/, '')));
    expect(readers.sort()).toEqual(['ApiStartJobRole', 'ReconcileFunctionRole', 'WorkflowNotifyRole']);
  });

  it('injects the speech-to-text API key from Secrets Manager into the worker when one is given, never as plain text', () => {
    const withKey = unbundledApp();
    const sttApiKeySecret = new secretsmanager.Secret(new Stack(withKey, 'Keys'), 'SttKey');
    const t = Template.fromStack(new MediaIngestStack(withKey, 'UsesSttKey', { workers: { sttApiKeySecret } }));
    const [container] = Object.values(t.findResources('AWS::ECS::TaskDefinition'))[0]!.Properties.ContainerDefinitions as Array<Record<string, unknown>>;
    expect(container!.Secrets).toEqual([expect.objectContaining({ Name: 'MEDIA_INGEST_STT_API_KEY' })]);
    // The key is never plain text in the environment, which holds only the worker's contract (resources, settings, scratch).
    expect((container!.Environment as Array<{ Name: string }>).map((e) => e.Name)).not.toContain('MEDIA_INGEST_STT_API_KEY');
    expect(container!.Environment).toEqual(expect.arrayContaining([{ Name: 'WORK_DIR', Value: '/scratch' }, { Name: 'HOME', Value: '/scratch/home' }]));
  });

  it("lets the worker answer only its own state machine's task tokens", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'], Resource: { Ref: Match.stringLikeRegexp('^WorkflowPipeline') } }),
        ]),
      },
    });
  });

  it('bundles every Lambda as one ESM file with the require banner, leaving the AWS SDK to the runtime', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([, f]) => f.Properties.Handler === 'index.handler');
    // Every component of the contract is a Lambda but the worker and the state machine.
    expect(functions).toHaveLength(COMPONENTS.filter((c) => c !== 'worker' && c !== 'statemachine').length);
    for (const [, f] of functions) {
      const code = readFileSync(join(app.outdir, `asset.${String(f.Properties.Code.S3Key).replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
      expect(code.startsWith("import{createRequire}from'module';const require=createRequire(import.meta.url);")).toBe(true);
      expect(code).toMatch(/^import .* from "@aws-sdk\/[a-z-]+";$/m);
      expect(code).toMatch(/^export \{[^}]*\bhandler\b[^}]*\};?$/m);
    }
  });

  it('runs every Lambda on a current Node.js runtime with tracing, and its own role', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([, f]) => f.Properties.Handler === 'index.handler');
    expect(functions).toHaveLength(11);
    const roles = new Set<string | undefined>();
    for (const [, f] of functions) {
      expect(f.Properties.Runtime).toBe('nodejs24.x');
      expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      roles.add(logicalId(f.Properties.Role));
    }
    expect(roles.size).toBe(11);
  });
});

describe('the API', () => {
  const methods = ofType('AWS::ApiGateway::Method').filter(([, m]) => m.Properties.HttpMethod !== 'OPTIONS');

  it('has exactly the routes of core/api-routes.ts, all IAM-authorised and validated', () => {
    const paths = new Map(ofType('AWS::ApiGateway::Resource').map(([id, r]) => [id, r.Properties]));
    const pathOf = (ref: unknown): string => {
      const parent = paths.get(logicalId(ref) ?? '');
      return parent ? `${pathOf(parent.ParentId)}/${parent.PathPart}` : '';
    };
    const stacked = methods.map(([, m]) => `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId)}`).sort();
    expect(stacked).toEqual(API_ROUTES.map((r) => `${r.method} ${r.resource}`).sort());
    for (const [, m] of methods) {
      expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
      expect(m.Properties.RequestValidatorId).toBeDefined();
    }
  });

  it('validates POST bodies against the job request model generated from the zod schema', () => {
    const post = methods.find(([, m]) => m.Properties.HttpMethod === 'POST')![1];
    const modelId = logicalId(post.Properties.RequestModels['application/json']);
    const model = resources[modelId!]!;
    expect(model.Properties.Schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-04/schema#',
      required: ['source'],
      additionalProperties: false,
      properties: { source: { required: ['type', 'url'] }, actions: { items: { enum: ['download', 'transcode', 'transcribe'] } } },
    });
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
  });

  it('throttles, traces and writes access logs', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, LoggingLevel: 'INFO', DataTraceEnabled: false })],
    });
  });
});

describe('cleanup and alarms', () => {
  it('runs the cleanup sweep on a schedule, with a dead-letter queue', () => {
    const rule = ofType('AWS::Events::Rule').find(([id]) => id.startsWith('Cleanup'))![1];
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 hour)');
    expect(rule.Properties.Targets[0]).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 2 }, DeadLetterConfig: { Arn: expect.anything() } });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('alarms on failed executions, throttles, Lambda errors, API 5xx and dead letters, to one SNS topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const metric = (name: string) => alarms.filter((a) => a.MetricName === name);
    expect(metric('ExecutionsFailed')).toHaveLength(1);
    expect(metric('ExecutionThrottled')).toHaveLength(1);
    expect(metric('Errors')).toHaveLength(11);
    expect(metric('Throttles')).toHaveLength(11);
    expect(metric('5XXError')).toHaveLength(1);
    // Dead letters of cleanup, reconcile and the work queue.
    expect(metric('ApproximateNumberOfMessagesVisible')).toHaveLength(3);
    const topic = ofType('AWS::SNS::Topic')[0]![0];
    // The worker service's scaling alarms (on a metric expression) act on its scaling policies instead.
    for (const a of alarms.filter((x) => !x.Metrics)) expect(a.AlarmActions.map(logicalId)).toEqual([topic]);
  });
});


describe('reconcile', () => {
  const [ruleId, rule] = ofType('AWS::Events::Rule').find(([id]) => id.startsWith('Reconcile'))!;
  const [fnId, fn] = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('ReconcileFunction'))!;
  const [queueId] = ofType('AWS::SQS::Queue').find(([id]) => id.startsWith('ReconcileDeadLetters'))!;

  it("sends this state machine's FAILED, TIMED_OUT and ABORTED executions to the reconcile function, with retries and a dead-letter queue", () => {
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: ofType('AWS::StepFunctions::StateMachine')[0]![0] }] },
    });
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(rule.Properties.Targets[0]).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 } });
    expect(logicalId(rule.Properties.Targets[0].Arn)).toBe(fnId);
    expect(logicalId(rule.Properties.Targets[0].DeadLetterConfig.Arn)).toBe(queueId);
    template.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] } });
    // An invocation that keeps failing after Lambda's own retries lands in the same queue.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });

  it('may read and conditionally update job records, read the callback secret and a request\'s real callback URL, and describe executions of this machine, and nothing else', () => {
    const roleId = logicalId(fn.Properties.Role);
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: unknown) => logicalId(r) === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
    const grants = statements
      .filter((st) => st.Resource !== '*')
      .map((st) => ({ actions: [st.Action].flat().sort(), on: JSON.stringify(st.Resource).match(/"(?:Ref|Fn::GetAtt)":\[?"([A-Za-z]+?)[0-9A-F]{8}"/)?.[1] }));
    expect(grants).toEqual(
      expect.arrayContaining([
        { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], on: 'JobsTable' },
        { actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], on: 'CallbackSecret' },
        { actions: ['states:DescribeExecution'], on: 'WorkflowPipeline' },
        { actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], on: 'ReconcileDeadLetters' },
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], on: 'ReconcileFunctionLogs' },
        { actions: ['s3:GetObject'], on: 'StorageStaging' },
      ]),
    );
    expect(grants).toHaveLength(6);
    for (const st of statements.filter((x) => x.Resource === '*')) for (const a of [st.Action].flat()) expect(a).toMatch(/^xray:/);
    expect(fn.Properties.Environment.Variables).toMatchObject({ JOBS_TABLE: { Ref: expect.stringMatching(/^JobsTable/) }, MEDIA_INGEST_CALLBACK_ALLOW_HOSTS: 'hooks.example.com' });
  });
});
