import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PREFIXES } from '../../core/storage.js';
import { acknowledge, EXECUTIONS_REASON, executionsFinding } from '../nag.js';
import { deadLetterQueue, grantObjects } from './grants.js';
import { NodeFunction } from './node-function.js';
import type { VariableName } from '../../core/config.js';

export interface CleanupProps {
  readonly table: dynamodb.ITableV2;
  readonly staging: s3.IBucket;
  readonly stateMachine: sfn.StateMachine;
  /** How often the sweep runs. Default: every hour. */
  readonly schedule?: events.Schedule;
  /** Resource names and settings (the retention among them); the function gets its contract's variables. */
  readonly values: Partial<Record<VariableName, string>>;
}

/** The scheduled sweep (lambdas/cleanup): expired staging, stale uploads, jobs stuck RUNNING; failed runs to a DLQ. */
export class Cleanup extends Construct {
  readonly function: NodeFunction;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: CleanupProps) {
    super(scope, id);
    const { table, staging, stateMachine } = props;
    this.function = new NodeFunction(this, 'Function', {
      name: 'cleanup',
      timeout: Duration.minutes(10),
      values: props.values,
    });
    const fn = this.function;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:ListBucketMultipartUploads'], resources: [staging.bucketArn] }));
    grantObjects(fn.role!, staging, PREFIXES.staging, ['s3:DeleteObject', 's3:AbortMultipartUpload']);
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'], resources: [table.tableArn] }),
    );
    stateMachine.grantExecution(fn, 'states:DescribeExecution');
    acknowledge(fn.role!, executionsFinding(stateMachine), EXECUTIONS_REASON);

    this.deadLetters = deadLetterQueue(this, 'the cleanup schedule');
    new events.Rule(this, 'Schedule', {
      description: 'media-ingest cleanup sweep',
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: this.deadLetters, retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
  }
}
