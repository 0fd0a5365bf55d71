import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { CallResource, RecordedCall } from '../../../core/call-log.js';
import { MediaIngestStack } from '../../../cdk/stack.js';
import { deniedCalls, evaluateCalls, stripGrant, type TemplateLike } from '../../fixtures/iam.js';
import { unbundledApp } from '../../fixtures/cdk.js';

// Bundling is skipped: the roles and policies do not depend on the Lambda code, and the synth is ten times faster.
const template = Template.fromStack(new MediaIngestStack(unbundledApp(), 'Iam', { settings: { callbackAllowHosts: ['hooks.example.com'] } }));

const TENANT = '111122223333';
const JOB = '6f1c1c1e-0000-4000-8000-000000000001';
const staging = (name: string): CallResource => ({ bucket: 'media-ingest-staging', key: `staging/${TENANT}/${JOB}/${name}` });
const upload: CallResource = { bucket: 'media-ingest-staging', key: `uploads/${TENANT}/0c5e/talk.mp4` };
const uploadRecord: CallResource = { bucket: 'media-ingest-staging', key: `uploads/${TENANT}/0c5e/.ticket-1048576.json` };
const jobs: CallResource = { table: 'media-ingest-jobs' };
const execution: CallResource = { execution: `arn:aws:states:us-east-1:000000000000:execution:media-ingest-local:${TENANT}-${JOB}` };
const call = (component: string, action: string, resource: CallResource, command?: string): RecordedCall => ({
  component,
  service: action.split(':')[0]!,
  action,
  resource,
  ...(command ? { command } : {}),
});

/** Every AWS call each component makes in the product (read from its code), with the resources it makes them on. */
const LEGITIMATE: RecordedCall[] = [
  // classify: the head of an uploaded source (core/uploads.ts uploadHead).
  call('classify', 's3:GetObject', upload),
  // publish: HeadObject + CopyObject per staged artifact, then manifest.json (lambdas/publish/publish.ts).
  call('publish', 's3:GetObject', staging('source.mp4'), 'HeadObject'),
  call('publish', 's3:PutObject', { bucket: 'media-ingest-artifacts', key: `tenants/${TENANT}/jobs/${JOB}/source.mp4` }, 'CopyObject'),
  call('publish', 's3:GetObject', staging('source.mp4'), 'CopyObject'),
  call('publish', 's3:PutObject', { bucket: 'media-ingest-artifacts', key: `tenants/${TENANT}/jobs/${JOB}/manifest.json` }, 'PutObject'),
  // notify: the signing key, the record, the callback outcome.
  call('notify', 'secretsmanager:GetSecretValue', { secret: 'callback' }),
  call('notify', 'dynamodb:GetItem', jobs),
  call('notify', 'dynamodb:UpdateItem', jobs),
  // start-job: the record, the execution, the execution ARN or the failure to start.
  call('start-job', 'secretsmanager:GetSecretValue', { secret: 'callback' }),
  call('start-job', 'dynamodb:PutItem', jobs),
  call('start-job', 'states:StartExecution', { stateMachine: 'arn:aws:states:us-east-1:000000000000:stateMachine:media-ingest-local' }),
  call('start-job', 'dynamodb:UpdateItem', jobs),
  call('get-job', 'dynamodb:GetItem', jobs),
  call('list-jobs', 'dynamodb:Query', { table: 'media-ingest-jobs', index: 'byCreatedAt' }),
  // cancel-job: the record, the execution, the job's staging prefix (core/staging.ts deletePrefix).
  call('cancel-job', 'dynamodb:GetItem', jobs),
  call('cancel-job', 'dynamodb:UpdateItem', jobs),
  call('cancel-job', 'states:StopExecution', execution),
  call('cancel-job', 's3:ListBucket', { bucket: 'media-ingest-staging', prefix: `staging/${TENANT}/${JOB}/` }),
  call('cancel-job', 's3:DeleteObject', staging('source.mp4')),
  // create-upload: the quota's listing, the upload's record; the presigned PUTs (one, or the parts) carry this role's permission.
  call('create-upload', 's3:ListBucket', { bucket: 'media-ingest-staging', prefix: `uploads/${TENANT}/` }),
  call('create-upload', 's3:PutObject', upload, 'PutObject'),
  call('create-upload', 's3:PutObject', upload, 'CreateMultipartUpload'),
  call('create-upload', 's3:PutObject', upload, 'UploadPart'),
  call('create-upload', 's3:PutObject', uploadRecord, 'PutObject'),
  // complete-upload: the upload's record, then the parts joined.
  call('complete-upload', 's3:ListBucket', { bucket: 'media-ingest-staging', prefix: `uploads/${TENANT}/0c5e/.ticket-` }),
  call('complete-upload', 's3:GetObject', uploadRecord),
  call('complete-upload', 's3:PutObject', upload, 'CompleteMultipartUpload'),
  // cleanup: the sweep of staging, stale multipart uploads, audit items, RUNNING jobs whose execution ended.
  call('cleanup', 's3:ListBucket', { bucket: 'media-ingest-staging', prefix: 'staging/' }),
  call('cleanup', 'dynamodb:GetItem', jobs),
  call('cleanup', 's3:ListBucket', { bucket: 'media-ingest-staging', prefix: `staging/${TENANT}/${JOB}/` }),
  call('cleanup', 's3:DeleteObject', staging('source.mp4')),
  call('cleanup', 'dynamodb:PutItem', jobs),
  call('cleanup', 's3:ListBucketMultipartUploads', { bucket: 'media-ingest-staging', prefix: 'staging/' }),
  call('cleanup', 's3:AbortMultipartUpload', staging('original')),
  call('cleanup', 'dynamodb:Scan', jobs),
  call('cleanup', 'states:DescribeExecution', execution),
  call('cleanup', 'dynamodb:UpdateItem', jobs),
  // worker: uploads, staged files (multipart, fed while downloading), their part lists (list, read, write, drop), progress, transcription, task token.
  call('worker', 's3:GetObject', upload),
  call('worker', 's3:ListBucket', { bucket: 'media-ingest-staging', prefix: `staging/${TENANT}/${JOB}/parts/original/` }),
  call('worker', 's3:PutObject', staging('parts/original/0123456789abcdef.json'), 'PutObject'),
  call('worker', 's3:GetObject', staging('parts/original/0123456789abcdef.json')),
  call('worker', 's3:DeleteObject', staging('parts/original/0123456789abcdef.json')),
  call('worker', 's3:PutObject', staging('original'), 'CreateMultipartUpload'),
  call('worker', 's3:PutObject', staging('original'), 'UploadPart'),
  call('worker', 's3:PutObject', staging('original'), 'CompleteMultipartUpload'),
  call('worker', 's3:AbortMultipartUpload', staging('original')),
  call('worker', 's3:ListMultipartUploadParts', staging('original'), 'ListParts'),
  call('worker', 's3:GetObject', staging('original'), 'HeadObject'),
  call('worker', 's3:GetObject', staging('source.mp4'), 'HeadObject'),
  call('worker', 's3:GetObject', staging('original')),
  call('worker', 'dynamodb:UpdateItem', jobs),
  call('worker', 'transcribe:StartTranscriptionJob', { transcriptionJob: 'media-ingest-0c5e', outputBucket: 'media-ingest-staging' }),
  call('worker', 'transcribe:GetTranscriptionJob', { transcriptionJob: 'media-ingest-0c5e' }),
  // Amazon Transcribe reads the audio and writes its output with the caller's permissions.
  call('worker', 's3:GetObject', staging('audio.wav')),
  call('worker', 's3:PutObject', staging('transcribe/media-ingest-0c5e.json'), 'PutObject'),
  call('worker', 's3:GetObject', staging('transcribe/media-ingest-0c5e.json')),
  call('worker', 'states:SendTaskHeartbeat', { stateMachine: '' }),
  call('worker', 'states:SendTaskSuccess', { stateMachine: '' }),
  call('worker', 'states:SendTaskFailure', { stateMachine: '' }),
  // The state machine: the ASL's Task resources.
  ...['classify', 'publish', 'notify'].map((f) => call('statemachine', 'lambda:InvokeFunction', { function: f })),
  call('statemachine', 'dynamodb:UpdateItem', jobs),
  call('statemachine', 'sqs:SendMessage', { queue: 'work' }),
  // The worker consumes the work queue.
  call('worker', 'sqs:ReceiveMessage', { queue: 'work' }),
  call('worker', 'sqs:ChangeMessageVisibility', { queue: 'work' }),
  call('worker', 'sqs:DeleteMessage', { queue: 'work' }),
];

const summary = (e: { component: string; action: string; arn: string; explanation: string }) => `${e.component} ${e.action} ${e.arn}: ${e.explanation}`;

describe('IAM, proven offline against the synthesised roles', () => {
  it('allows every call each component makes', async () => {
    const denied = await deniedCalls(template, LEGITIMATE);
    expect(denied.map(summary)).toEqual([]);
  });

  it('reports a call denied once its grant is removed (the check can fail)', async () => {
    const manifest = LEGITIMATE.find((c) => c.component === 'publish' && c.command === 'PutObject')!;
    expect(await deniedCalls(template, [manifest])).toEqual([]);
    const denied = await deniedCalls(stripGrant(template, 'publish', 's3:PutObject'), [manifest]);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ component: 'publish', action: 's3:PutObject', result: 'ImplicitlyDenied' });
    expect(denied[0]!.explanation).toMatch(/may not s3:PutObject on arn:aws:s3:::storageartifacts/);
  });

  it('denies calls outside a component’s grants', async () => {
    const outside = [
      call('worker', 's3:GetObject', { bucket: 'media-ingest-artifacts', key: `tenants/${TENANT}/jobs/${JOB}/source.mp4` }),
      call('worker', 's3:PutObject', upload, 'PutObject'),
      call('classify', 'dynamodb:DeleteItem', jobs),
      call('classify', 's3:GetObject', staging('source.mp4')),
      call('get-job', 'dynamodb:UpdateItem', jobs),
      call('list-jobs', 'dynamodb:Query', jobs),
      call('create-upload', 's3:PutObject', staging('source.mp4'), 'PutObject'),
      call('cancel-job', 's3:ListBucket', { bucket: 'media-ingest-staging', prefix: 'uploads/' }),
      call('publish', 'secretsmanager:GetSecretValue', { secret: 'callback' }),
      call('statemachine', 's3:GetObject', staging('source.mp4')),
      // The worker may only consume its queue, the state machine only send to it.
      call('worker', 'sqs:SendMessage', { queue: 'work' }),
      call('worker', 'sqs:PurgeQueue', { queue: 'work' }),
      call('statemachine', 'sqs:ReceiveMessage', { queue: 'work' }),
      call('statemachine', 'sqs:DeleteMessage', { queue: 'work' }),
    ];
    const denied = await deniedCalls(template, outside);
    expect(denied.map((e) => `${e.component} ${e.action}`)).toEqual(outside.map((c) => `${c.component} ${c.action}`));
    for (const e of denied) expect(e.explanation).toMatch(/may not/);
  });
});

describe('IAM with a customer-managed KMS key', () => {
  const app = unbundledApp();
  const env = { account: '111111111111', region: 'us-east-1' };
  const keys = new Stack(app, 'Keys', { env });
  const encryptionKey = new kms.Key(keys, 'Key', { enableKeyRotation: true });
  const withKey = Template.fromStack(new MediaIngestStack(app, 'IamWithKey', { encryptionKey, env }));
  const templates = [withKey, Template.fromStack(keys)];

  it('evaluates the KMS calls that SSE-KMS implies, and allows them all', async () => {
    const evaluations = await evaluateCalls(templates, LEGITIMATE);
    const implied = evaluations.filter((e) => e.impliedBy);
    expect(new Set(implied.map((e) => e.action))).toEqual(new Set(['kms:Decrypt', 'kms:GenerateDataKey']));
    // Every role that touches the buckets' objects or the table needs the key: all but the state machine's S3-less calls.
    expect(new Set(implied.map((e) => e.component))).toEqual(
      new Set(['classify', 'publish', 'notify', 'start-job', 'get-job', 'list-jobs', 'cancel-job', 'create-upload', 'complete-upload', 'cleanup', 'worker', 'statemachine']),
    );
    expect(evaluations.filter((e) => !e.allowed).map(summary)).toEqual([]);
  });

  it('would deny every one of them without the key grants (as before they were added)', async () => {
    let stripped: TemplateLike = withKey;
    for (const component of new Set(LEGITIMATE.map((c) => c.component))) {
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) stripped = stripGrant(stripped, component, action);
    }
    const implied = (await evaluateCalls(templates, LEGITIMATE)).filter((e) => e.impliedBy);
    const denied = await deniedCalls([stripped, Template.fromStack(keys)], LEGITIMATE);
    const id = (e: { component: string; action: string; impliedBy?: string }) => `${e.component} ${e.action} for ${e.impliedBy}`;
    expect(denied.map(id)).toEqual(implied.map(id));
  });

  it('stays clean under cdk-nag with the key grants', () => {
    const nagged = unbundledApp();
    const key = new kms.Key(new Stack(nagged, 'NagKeys', { env }), 'Key', { enableKeyRotation: true });
    new MediaIngestStack(nagged, 'NaggedWithKey', { encryptionKey: key, env });
    Validations.of(nagged).addPlugins(new AwsSolutionsChecks(nagged));
    expect(() => nagged.synth()).not.toThrow();
  });

  it('grants no access a component does not need (create-upload cannot read an upload, complete-upload only its record)', async () => {
    const denied = await deniedCalls(templates, [call('create-upload', 's3:GetObject', upload), call('complete-upload', 's3:GetObject', upload)]);
    expect(denied.map((e) => `${e.component} ${e.action}`)).toEqual(['create-upload s3:GetObject', 'complete-upload s3:GetObject']);
  });
});
