import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { Alarms } from './constructs/alarms.js';
import { Api, type ApiProps } from './constructs/api.js';
import { Cleanup } from './constructs/cleanup.js';
import { JobsTable } from './constructs/jobs-table.js';
import { Reconcile } from './constructs/reconcile.js';
import { Storage, type StorageProps } from './constructs/storage.js';
import { Workers, type WorkersProps } from './constructs/workers.js';
import { Workflow } from './constructs/workflow.js';
import { acknowledge } from './nag.js';
import { type Settings, settingsToVariables, type VariableName } from '../core/config.js';

export interface MediaIngestStackProps extends StackProps {
  /** Buckets: staging expiry, KMS, access-log retention. Default: see StorageProps. */
  readonly storage?: StorageProps;
  /** Worker task size. Default: see WorkersProps. */
  readonly workers?: WorkersProps;
  /**
   * A customer-managed key for the buckets and the table. Needs a stack with an explicit `env.region` (the table's
   * replica encryption is rendered per region). Default: none (AWS-managed encryption).
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What a platform team may change: egress and callback allowlists, limits, connections, the transcription engines
   * (in fallback order) and their API, retention, timeouts. Each is also a context key of the same name
   * (`-c maxBytes=…`); the README's Deploy section lists them. Default: the configuration contract's defaults.
   */
  readonly settings?: Settings;
  /** API throttling and WAF. Default: 50 rps, burst 100, no web ACL. */
  readonly api?: Pick<ApiProps, 'throttleRatePerSecond' | 'throttleBurst' | 'webAclArn'>;
  /** How often the cleanup sweep runs. Default: hourly. */
  readonly cleanupSchedule?: events.Schedule;
  /** Whether buckets and table go with the stack (test stages). Default: false (kept). */
  readonly destroyOnRemoval?: boolean;
}

/** media-ingest on AWS: storage, job records, Fargate workers, the workflow, its API, cleanup, reconcile and alarms. */
export class MediaIngestStack extends Stack {
  readonly workflow: Workflow;
  readonly api: Api;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: MediaIngestStackProps = {}) {
    super(scope, id, props);
    const destroyOnRemoval = props.destroyOnRemoval ?? false;
    const storage = new Storage(this, 'Storage', { encryptionKey: props.encryptionKey, destroyOnRemoval, ...props.storage });
    const jobs = new JobsTable(this, 'Jobs', { encryptionKey: props.encryptionKey, destroyOnRemoval });
    // The HMAC key callbacks are signed with; receivers read it from here (or are given it) to verify signatures.
    const callbackSecret = new secretsmanager.Secret(this, 'CallbackSecret', {
      description: 'media-ingest: HMAC-SHA256 key of the X-Media-Ingest-Signature header on job callbacks',
      // Encrypted with Secrets Manager's own key: with a key from another stack the grants would form a cycle.
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    acknowledge(callbackSecret, 'AwsSolutions-SMG4', 'a signing key shared with callback receivers: rotating it needs them to follow, so it is rotated by hand (put a new value; functions read it at cold start)');
    // What every component's environment is built from: the resources here and the settings (core/config.ts).
    const values: Partial<Record<VariableName, string>> = {
      ...settingsToVariables(props.settings ?? {}),
      JOBS_TABLE: jobs.table.tableName,
      STAGING_BUCKET: storage.staging.bucketName,
      ARTIFACTS_BUCKET: storage.artifacts.bucketName,
      MEDIA_INGEST_CALLBACK_SECRET_ARN: callbackSecret.secretArn,
    };
    const workers = new Workers(this, 'Workers', { ...props.workers, values });
    this.workflow = new Workflow(this, 'Workflow', {
      table: jobs.table,
      staging: storage.staging,
      artifacts: storage.artifacts,
      workers,
      values,
      callbackSecret,
    });
    this.api = new Api(this, 'Api', {
      table: jobs.table,
      staging: storage.staging,
      stateMachine: this.workflow.stateMachine,
      callbackSecret,
      values,
      ...props.api,
    });
    const cleanup = new Cleanup(this, 'Cleanup', {
      table: jobs.table,
      staging: storage.staging,
      stateMachine: this.workflow.stateMachine,
      schedule: props.cleanupSchedule,
      values,
    });
    const reconcile = new Reconcile(this, 'Reconcile', {
      table: jobs.table,
      staging: storage.staging,
      stateMachine: this.workflow.stateMachine,
      callbackSecret,
      values,
    });
    // What callers and the local runtime look up: the local runtime maps each of these to its stand-in.
    const outputs: Record<string, string> = {
      JobsTableName: jobs.table.tableName,
      StagingBucketName: storage.staging.bucketName,
      ArtifactsBucketName: storage.artifacts.bucketName,
      StateMachineArn: this.workflow.stateMachine.stateMachineArn,
      CallbackSecretArn: callbackSecret.secretArn,
      ApiUrl: this.api.restApi.url,
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
    const functions = [...Object.values(this.workflow.functions), ...this.api.functions, cleanup.function, reconcile.function];
    if (props.encryptionKey) {
      // SSE-KMS: S3 and DynamoDB use the key with the caller's permissions. Every reader of the table or of objects
      // decrypts (and so does a multipart upload's, whose part URLs create-upload signs); writers generate data keys.
      const key = props.encryptionKey;
      for (const fn of functions) key.grantDecrypt(fn);
      key.grantDecrypt(workers.taskDefinition.taskRole);
      key.grantDecrypt(this.workflow.stateMachine);
      const uploaders = this.api.functions.filter((fn) => fn.component.endsWith('-upload'));
      for (const writer of [this.workflow.functions.publish, ...uploaders, workers.taskDefinition.taskRole]) {
        key.grant(writer, 'kms:GenerateDataKey');
      }
    }
    this.alarms = new Alarms(this, 'Alarms', {
      stateMachine: this.workflow.stateMachine,
      functions,
      restApi: this.api.restApi,
      deadLetters: [cleanup.deadLetters, reconcile.deadLetters, workers.deadLetters],
      workQueue: workers.queue,
    });
  }
}
