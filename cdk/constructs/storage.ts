import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PREFIXES } from '../../core/storage.js';
import { acknowledge } from '../nag.js';

export interface StorageProps {
  /** Days after which step data (under `PREFIXES.staging`) expires. Default: 7. */
  readonly stagingExpirationDays?: number;
  /** Days after which uploads (under `PREFIXES.uploads`, the sources of upload jobs) expire. Default: 7. */
  readonly uploadExpirationDays?: number;
  /** Days after which an incomplete multipart upload is aborted. Default: 1. */
  readonly abortIncompleteUploadDays?: number;
  /** A customer-managed key for both buckets. Default: none (SSE-S3). */
  readonly encryptionKey?: kms.IKey;
  /** Days server access logs are kept. Default: 90. */
  readonly accessLogExpirationDays?: number;
  /** Whether the buckets are emptied and deleted with the stack. Default: false (kept). */
  readonly destroyOnRemoval?: boolean;
}

/** The staging bucket (step data, expires), the artifacts bucket (what jobs publish) and their access logs. */
export class Storage extends Construct {
  readonly staging: s3.Bucket;
  readonly artifacts: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removal = props.destroyOnRemoval
      ? { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true }
      : { removalPolicy: RemovalPolicy.RETAIN };
    const secure = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...removal,
    };
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...secure,
      // Server access logging can only deliver to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(props.accessLogExpirationDays ?? 90) }],
    });
    acknowledge(this.accessLogs, 'AwsSolutions-S1', 'this is the access-log bucket itself; logging it into itself would loop');
    const encryption = props.encryptionKey
      ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
      : { encryption: s3.BucketEncryption.S3_MANAGED };
    this.staging = new s3.Bucket(this, 'Staging', {
      ...secure,
      ...encryption,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'staging-bucket/',
      lifecycleRules: [
        { id: 'expire-staging', prefix: PREFIXES.staging, expiration: Duration.days(props.stagingExpirationDays ?? 7) },
        { id: 'expire-uploads', prefix: PREFIXES.uploads, expiration: Duration.days(props.uploadExpirationDays ?? 7) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteUploadDays ?? 1) },
      ],
    });
    this.artifacts = new s3.Bucket(this, 'Artifacts', {
      ...secure,
      ...encryption,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'artifacts-bucket/',
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteUploadDays ?? 1) }],
    });
  }
}
