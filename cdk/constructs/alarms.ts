import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

export interface AlarmsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: readonly lambda.IFunction[];
  readonly restApi: apigateway.RestApi;
  readonly deadLetters: readonly sqs.IQueue[];
  /** The work queue: a step waiting longer than `waitingAlarmAfter` means the workers cannot keep up (or none run). */
  readonly workQueue: sqs.IQueue;
  /** Default: 15 minutes. */
  readonly waitingAlarmAfter?: Duration;
}

/** Failed executions, throttles, Lambda errors, API 5xx, dead letters and steps left waiting, all to one SNS topic. */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'media-ingest alarms', enforceSSL: true });
    acknowledge(this.topic, 'AwsSolutions-SNS2', 'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed key, and alarm messages carry no job data');
    const alarm = (name: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      this.alarms.push(a);
    };
    const period = Duration.minutes(5);
    alarm('ExecutionsFailed', props.stateMachine.metricFailed({ period }), 'a job execution failed, timed out or was aborted');
    alarm('ExecutionsThrottled', props.stateMachine.metricThrottled({ period }), 'Step Functions throttled state transitions');
    props.functions.forEach((fn, i) => {
      alarm(`FunctionErrors${i}`, fn.metricErrors({ period }), `a Lambda invocation failed: ${fn.node.path}`);
      alarm(`FunctionThrottles${i}`, fn.metricThrottles({ period }), `a Lambda invocation was throttled: ${fn.node.path}`);
    });
    alarm('Api5xx', props.restApi.metricServerError({ period }), 'the jobs API answered 5xx');
    props.deadLetters.forEach((q, i) => alarm(`DeadLetters${i}`, q.metricApproximateNumberOfMessagesVisible({ period }), `dead letters in ${q.node.path}`));
    const waiting = props.waitingAlarmAfter ?? Duration.minutes(15);
    alarm(
      'StepsWaiting',
      props.workQueue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
      `a step has waited on the work queue for ${waiting.toMinutes()} minutes: the workers cannot keep up, or none can start`,
      waiting.toSeconds(),
    );
  }
}
