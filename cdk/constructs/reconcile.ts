import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EXECUTION_STATUS_CHANGE, UNRECORDED_ENDS } from '../../core/execution-events.js';
import { acknowledge, EXECUTIONS_REASON, executionsFinding } from '../nag.js';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { deadLetterQueue, grantRequestSecrets } from './grants.js';
import { NodeFunction } from './node-function.js';
import type { VariableName } from '../../core/config.js';

export interface ReconcileProps {
  /** The jobs table: a record left QUEUED or RUNNING is conditionally marked FAILED. */
  readonly table: dynamodb.ITableV2;
  /** The staging bucket: the real callback URL of a request with secrets waits there (core/request-secrets.ts). */
  readonly staging: s3.IBucket;
  /** The state machine whose FAILED, TIMED_OUT and ABORTED executions are reconciled. */
  readonly stateMachine: sfn.StateMachine;
  /** The callback signing key, read at cold start (as Notify reads it). */
  readonly callbackSecret: secretsmanager.ISecret;
  /** Resource names and settings; the function gets its contract's variables (core/config.ts). */
  readonly values: Partial<Record<VariableName, string>>;
}

/**
 * No job outlives its execution (lambdas/reconcile): an EventBridge rule sends every execution of the state machine
 * that ends FAILED, TIMED_OUT or ABORTED to a function that records the job FAILED and calls its caller back.
 */
export class Reconcile extends Construct {
  readonly function: NodeFunction;
  readonly deadLetters: sqs.Queue;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconcileProps) {
    super(scope, id);
    const { table, stateMachine } = props;
    this.deadLetters = deadLetterQueue(this, 'the reconcile rule and function');
    this.function = new NodeFunction(this, 'Function', {
      name: 'reconcile',
      timeout: Duration.minutes(2),
      values: props.values,
    });
    const fn = this.function;
    // An event whose invocations keep failing (after Lambda's own retries) is kept for a redrive, not dropped.
    fn.configureAsyncInvoke({ onFailure: new destinations.SqsDestination(this.deadLetters), retryAttempts: 2 });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [table.tableArn] }));
    grantRequestSecrets(fn, props.staging, ['s3:GetObject']);
    props.callbackSecret.grantRead(fn);
    // The job's input, when the event left it out for its size.
    stateMachine.grantExecution(fn, 'states:DescribeExecution');
    acknowledge(fn.role!, executionsFinding(stateMachine), EXECUTIONS_REASON);

    this.rule = new events.Rule(this, 'Rule', {
      description: 'media-ingest: reconcile jobs of executions that ended FAILED, TIMED_OUT or ABORTED',
      eventPattern: {
        source: ['aws.states'],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: { status: [...UNRECORDED_ENDS], stateMachineArn: [stateMachine.stateMachineArn] },
      },
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: this.deadLetters, retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
  }
}
