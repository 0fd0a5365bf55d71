import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import { componentEnvironment, type VariableName } from '../../core/config.js';
import { workerImageDir } from '../worker-image.js';

/** The task's only writable path: WORK_DIR, and the tools' HOME, TMPDIR and cache under it. */
export const WORKER_SCRATCH = '/scratch';
export const SCRATCH_VARIABLES = {
  WORK_DIR: WORKER_SCRATCH,
  HOME: `${WORKER_SCRATCH}/home`,
  TMPDIR: `${WORKER_SCRATCH}/tmp`,
  XDG_CACHE_HOME: `${WORKER_SCRATCH}/cache`,
} as const;

export interface WorkersProps {
  /** vCPU units of the worker task. Default: 2048 (2 vCPU). */
  readonly cpu?: number;
  /** Memory of the worker task, MiB. Default: 4096. */
  readonly memoryMiB?: number;
  /** Ephemeral storage of the worker task (scratch for media), GiB. Default: 50. */
  readonly ephemeralStorageGiB?: number;
  /** Days worker logs are kept. Default: one month. */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The API key of the OpenAI-compatible speech-to-text engine (`MEDIA_INGEST_TRANSCRIBE_ENGINE=openai`), injected by
   * ECS as `MEDIA_INGEST_STT_API_KEY` from Secrets Manager (never in the task definition). Default: none.
   */
  readonly sttApiKeySecret?: secretsmanager.ISecret;
  /** The same secret by its complete ARN (the `sttApiKeySecretArn` context key). Default: none. */
  readonly sttApiKeySecretArn?: string;
}

export const WORKER_CONTAINER_NAME = 'media-worker';

/**
 * The media worker on Fargate: a VPC whose private subnets reach out through one NAT gateway, a cluster,
 * and the task definition built from containers/media-worker.
 */
export class Workers extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly securityGroup: ec2.SecurityGroup;

  /**
   * `values`: resource names and settings; the task gets exactly the worker's variables of the configuration contract
   * (core/config.ts).
   */
  constructor(scope: Construct, id: string, props: WorkersProps & { readonly values: Partial<Record<VariableName, string>> }) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      // One NAT gateway: the single, controlled way out for the workers.
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'workers', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
          ),
        },
      },
    });
    // S3 and DynamoDB traffic stays inside AWS: free gateway endpoints instead of paid NAT processing.
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    this.vpc.addGatewayEndpoint('DynamoDB', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.securityGroup = new ec2.SecurityGroup(this, 'WorkerSecurityGroup', {
      vpc: this.vpc,
      description: 'media-worker tasks: no inbound, outbound to fetch sources and reach AWS APIs',
      allowAllOutbound: true,
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 2048,
      memoryLimitMiB: props.memoryMiB ?? 4096,
      ephemeralStorageGiB: props.ephemeralStorageGiB ?? 50,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.taskDefinition.addVolume({ name: 'scratch' });
    const sttKey =
      props.sttApiKeySecret ??
      (props.sttApiKeySecretArn ? secretsmanager.Secret.fromSecretCompleteArn(this, 'SttApiKey', props.sttApiKeySecretArn) : undefined);
    const container = this.taskDefinition.addContainer('Worker', {
      containerName: WORKER_CONTAINER_NAME,
      image: ecs.ContainerImage.fromAsset(workerImageDir()),
      user: 'node',
      readonlyRootFilesystem: true,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker', logGroup }),
      environment: componentEnvironment('worker', { ...props.values, ...SCRATCH_VARIABLES }),
      ...(sttKey ? { secrets: { MEDIA_INGEST_STT_API_KEY: ecs.Secret.fromSecretsManager(sttKey) } } : {}),
    });
    container.addMountPoints({ sourceVolume: 'scratch', containerPath: '/scratch', readOnly: false });
    acknowledge(this.taskDefinition.obtainExecutionRole(), 'AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken, which pulls the worker image, supports no resource-level permissions');
    acknowledge(this.taskDefinition, 'AwsSolutions-ECS2', 'the environment holds the configuration contract\'s settings and resource names; secrets never go in it (ECS injects the STT key from Secrets Manager)');
  }
}
