import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { PREFIXES } from '../../core/storage.js';
import { acknowledge, findingEnv, XRAY_REASON } from '../nag.js';
import { ASL_FILE } from '../paths.js';
import { type Config, loadConfig, type VariableName } from '../../core/config.js';
import { readFileSync } from 'node:fs';
import { NodeFunction } from './node-function.js';
import type { Workers } from './workers.js';
import { grantList, grantObjects, grantRequestSecrets } from './grants.js';

export interface WorkflowProps {
  readonly table: dynamodb.ITableV2;
  readonly staging: s3.IBucket;
  readonly artifacts: s3.IBucket;
  readonly workers: Workers;
  /** Resource names and settings: each function gets its contract's variables, the definition its timeouts. */
  readonly values: Partial<Record<VariableName, string>>;
  /** Days execution logs are kept. Default: one month. */
  readonly logRetention?: logs.RetentionDays;
  /** The callback signing key, read by Notify at cold start. */
  readonly callbackSecret: secretsmanager.ISecret;
}

interface Definition {
  TimeoutSeconds?: number;
  States: Record<string, { TimeoutSeconds?: number }>;
}

/** The ASL with the job's and each worker step's timeout from the configuration (substitutions cannot be numbers). */
export function withTimeouts(config: Config): Definition {
  const definition = JSON.parse(readFileSync(ASL_FILE, 'utf8')) as Definition;
  definition.TimeoutSeconds = config.MEDIA_INGEST_JOB_TIMEOUT_SECONDS;
  definition.States.Extract!.TimeoutSeconds = config.MEDIA_INGEST_EXTRACT_TIMEOUT_SECONDS;
  definition.States.Merge!.TimeoutSeconds = config.MEDIA_INGEST_MERGE_TIMEOUT_SECONDS;
  definition.States.Transcribe!.TimeoutSeconds = config.MEDIA_INGEST_TRANSCRIBE_TIMEOUT_SECONDS;
  return definition;
}

/** The state machine from statemachine/pipeline.asl.json and the Lambdas it invokes. */
export class Workflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The values CDK passes for the ASL's `${Key}` placeholders. */
  readonly substitutions: Record<string, string>;
  readonly functions: { classify: NodeFunction; publish: NodeFunction; notify: NodeFunction };

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const { table, staging, artifacts, workers } = props;
    const { values } = props;
    const classify = new NodeFunction(this, 'Classify', { name: 'classify', values });
    const publish = new NodeFunction(this, 'Publish', { name: 'publish', values, timeout: Duration.minutes(5) });
    const notify = new NodeFunction(this, 'Notify', { name: 'notify', values, timeout: Duration.minutes(2) });
    props.callbackSecret.grantRead(notify);
    this.functions = { classify, publish, notify };
    // Classify reads the head of an uploaded source.
    grantObjects(classify.role!, staging, PREFIXES.uploads, ['s3:GetObject']);
    // Classify and Notify read the real URLs of a request with secrets (core/request-secrets.ts); Notify forgets them.
    grantRequestSecrets(classify, staging, ['s3:GetObject']);
    grantRequestSecrets(notify, staging, ['s3:GetObject', 's3:DeleteObject']);
    // Publish reads staging and writes artifacts; Notify reads the record and writes the callback outcome.
    grantObjects(publish.role!, staging, PREFIXES.staging, ['s3:GetObject']);
    // PutObject covers CreateMultipartUpload, UploadPartCopy and Complete; a failed multipart copy aborts its upload.
    grantObjects(publish.role!, artifacts, PREFIXES.artifacts, ['s3:PutObject', 's3:AbortMultipartUpload']);
    notify.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [table.tableArn] }));

    this.substitutions = {
      ClassifyFunctionArn: classify.functionArn,
      PublishFunctionArn: publish.functionArn,
      NotifyFunctionArn: notify.functionArn,
      JobsTableName: table.tableName,
      WorkQueueUrl: workers.queue.queueUrl,
    };

    this.stateMachine = new sfn.StateMachine(this, 'Pipeline', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(withTimeouts(loadConfig('statemachine', values)))),
      definitionSubstitutions: this.substitutions,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'ExecutionLogs', {
          retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    // The ASL is a file, so CDK cannot infer what it calls: grant exactly that, resource by resource.
    const role = this.stateMachine.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [classify.functionArn, publish.functionArn, notify.functionArn] }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [table.tableArn] }));
    // Extract, Merge and Transcribe are messages on the work queue: the state machine only sends to it.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [workers.queue.queueArn] }));
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', `${XRAY_REASON}; CloudWatch Logs delivery actions for execution logging likewise require "*"`);

    // The worker reads and writes staging, reports progress on the job, and answers its own task token.
    const taskRole = workers.taskDefinition.taskRole;
    grantObjects(taskRole, staging, PREFIXES.staging, ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload']);
    grantObjects(taskRole, staging, PREFIXES.uploads, ['s3:GetObject']);
    // A staged upload's part lists (containers/media-worker/staging-target.ts) are listed on a retry, checked against
    // the upload they describe (ListParts), and deleted once another version of the source replaces them.
    grantObjects(taskRole, staging, PREFIXES.staging, ['s3:DeleteObject', 's3:ListMultipartUploadParts']);
    grantList(taskRole, staging, PREFIXES.staging);
    // It reads the job (its message is only a reference) and writes progress.
    taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [table.tableArn] }));
    this.stateMachine.grantTaskResponse(taskRole);
    // The Amazon Transcribe engine (MEDIA_INGEST_TRANSCRIBE_ENGINE=aws) starts and polls jobs on staged audio.
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['transcribe:GetTranscriptionJob'],
        resources: [Stack.of(this).formatArn({ service: 'transcribe', resource: 'transcription-job', resourceName: 'media-ingest-*' })],
      }),
    );
    // StartTranscriptionJob has no resource-level permissions (IAM reference): "*", but only writing into staging.
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['transcribe:StartTranscriptionJob'],
        resources: ['*'],
        conditions: { StringEquals: { 'transcribe:OutputBucketName': staging.bucketName } },
      }),
    );
    acknowledge(taskRole, 'AwsSolutions-IAM5[Resource::*]', 'transcribe:StartTranscriptionJob supports no resource-level permissions; the grant is limited to jobs whose output goes to the staging bucket');
    acknowledge(
      taskRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:transcribe:${findingEnv(this)}:transcription-job/media-ingest-*]`,
      'transcription jobs are named per run (media-ingest-<uuid>); the grant covers only jobs with that prefix',
    );
  }
}
