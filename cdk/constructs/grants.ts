import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { REQUEST_SECRETS_NAME } from '../../core/request-secrets.js';
import { acknowledge, PREFIX_REASON, prefixFinding } from '../nag.js';
import type { NodeFunction } from './node-function.js';

/** Lets a function use the real URLs of a request with secrets (core/request-secrets.ts): that one object per job. */
export function grantRequestSecrets(fn: NodeFunction, staging: s3.IBucket, actions: string[]): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [staging.arnForObjects(`staging/*/${REQUEST_SECRETS_NAME}`)] }));
  acknowledge(fn.role!, prefixFinding(staging, 'staging/').replace(/\*\]$/, `*/${REQUEST_SECRETS_NAME}]`), PREFIX_REASON);
}

/** An encrypted, TLS-only queue that keeps what `of` could not deliver for two weeks, for a redrive. */
export function deadLetterQueue(scope: Construct, of: string): sqs.Queue {
  const queue = new sqs.Queue(scope, 'DeadLetters', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  acknowledge(queue, 'AwsSolutions-SQS3', `this queue is itself the dead-letter queue of ${of}`);
  return queue;
}
