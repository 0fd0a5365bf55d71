import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface StorageProps {
  /** Days after which objects under `staging/` expire. Default: 7. */
  readonly stagingExpirationDays?: number;
  /** Whether the buckets are emptied and deleted with the stack. Default: false (kept). */
  readonly destroyOnRemoval?: boolean;
}

/** The staging bucket (step data, expires) and the artifacts bucket (what jobs publish). */
export class Storage extends Construct {
  readonly staging: s3.Bucket;
  readonly artifacts: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const removal = props.destroyOnRemoval
      ? { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true }
      : { removalPolicy: RemovalPolicy.RETAIN };
    const common = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      ...removal,
    };
    this.staging = new s3.Bucket(this, 'Staging', {
      ...common,
      lifecycleRules: [
        { prefix: 'staging/', expiration: Duration.days(props.stagingExpirationDays ?? 7) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    this.artifacts = new s3.Bucket(this, 'Artifacts', { ...common, versioned: true });
  }
}
