import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { REQUEST_SECRETS_NAME } from '../../core/request-secrets.js';
import { PREFIXES, type StoragePrefix } from '../../core/storage.js';
import { acknowledge, PREFIX_REASON, prefixFinding, UPLOADS_REASON } from '../nag.js';
import type { NodeFunction } from './node-function.js';

/** Grants `actions` on the objects under one of the storage prefixes (core/storage.ts), with the reason cdk-nag reads. */
export function grantObjects(role: iam.IRole, bucket: s3.IBucket, prefix: StoragePrefix, actions: string[]): void {
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [bucket.arnForObjects(`${prefix}*`)] }));
  acknowledge(role, prefixFinding(bucket, prefix), prefix === PREFIXES.uploads ? UPLOADS_REASON : PREFIX_REASON);
}

/** Grants listing the keys under one of the storage prefixes, and no others. */
export function grantList(role: iam.IRole, bucket: s3.IBucket, prefix: StoragePrefix): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': `${prefix}*` } } }),
  );
}

/** Lets a function use the real URLs of a request with secrets (core/request-secrets.ts): that one object per job. */
export function grantRequestSecrets(fn: NodeFunction, staging: s3.IBucket, actions: string[]): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [staging.arnForObjects(`${PREFIXES.staging}*/${REQUEST_SECRETS_NAME}`)] }));
  acknowledge(fn.role!, prefixFinding(staging, PREFIXES.staging).replace(/\*\]$/, `*/${REQUEST_SECRETS_NAME}]`), PREFIX_REASON);
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
