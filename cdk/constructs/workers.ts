import { type CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, findingEnv } from '../nag.js';
import { componentEnvironment, valueOf, type VariableName } from '../../core/config.js';
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
  /**
   * Worker tasks kept running when there is no work. Default: 0 — nothing to pay while idle, and the first step after
   * an idle spell waits for a cold start (task start and image pull, 30–90 s).
   */
  readonly minWorkers?: number;
  /** Most worker tasks the service scales out to. Default: 20. */
  readonly maxWorkers?: number;
}

/** SQS's message size limit as Step Functions' own state limit is: a step's message is far below it. */
const MESSAGE_LIMIT_BYTES = 256 * 1024;
/** Step scaling takes at most 40 intervals: the backlog is cut into at most this many besides the empty one. */
const MAX_SCALING_STEPS = 38;

/**
 * Workers for a backlog of steps (waiting and running): enough that each runs `concurrency` of them, within
 * `min`..`max`; none beyond `min` when the queue is empty.
 */
export function backlogSteps(concurrency: number, min: number, max: number): appscaling.ScalingInterval[] {
  const count = Math.min(max, MAX_SCALING_STEPS);
  const steps: appscaling.ScalingInterval[] = [{ upper: 0, change: min }];
  for (let k = 1; k <= count; k++) {
    const before = Math.ceil(((k - 1) * max) / count);
    steps.push({ lower: before * concurrency + 1, change: Math.max(min, Math.ceil((k * max) / count)) });
  }
  return steps;
}

export const WORKER_CONTAINER_NAME = 'media-worker';

/**
 * The media workers on Fargate: a VPC whose private subnets reach out through one NAT gateway, a cluster, the work
 * queue and its dead-letter queue, and a service of warm workers built from containers/media-worker that consumes
 * the queue and scales on its backlog.
 */
export class Workers extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;
  readonly service: ecs.FargateService;
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
    // The work queue: each message is one step's claim, for its visibility timeout, which the worker renews.
    const values = props.values;
    this.deadLetters = new sqs.Queue(this, 'WorkDeadLetters', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledge(this.deadLetters, 'AwsSolutions-SQS3', 'it is the dead-letter queue of the work queue');
    this.queue = new sqs.Queue(this, 'WorkQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(valueOf('MEDIA_INGEST_VISIBILITY_TIMEOUT_SECONDS', values)),
      maxMessageSizeBytes: MESSAGE_LIMIT_BYTES,
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: valueOf('MEDIA_INGEST_MAX_RECEIVE_COUNT', values) },
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
      environment: componentEnvironment('worker', { ...values, ...SCRATCH_VARIABLES, WORK_QUEUE_URL: this.queue.queueUrl }),
      ...(sttKey ? { secrets: { MEDIA_INGEST_STT_API_KEY: ecs.Secret.fromSecretsManager(sttKey) } } : {}),
    });
    container.addMountPoints({ sourceVolume: 'scratch', containerPath: '/scratch', readOnly: false });
    const taskRole = this.taskDefinition.taskRole;
    // The worker only consumes its own queue: receive, renew a claim, delete once reported.
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage'], resources: [this.queue.queueArn] }),
    );
    // Scale-in protection while a step runs, through the ECS agent (containers/media-worker/protection.ts).
    const tasks = Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` });
    taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecs:UpdateTaskProtection'], resources: [tasks] }));
    const cluster = this.cluster.node.defaultChild as CfnResource;
    acknowledge(
      taskRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${findingEnv(this)}:task/<${Stack.of(this).getLogicalId(cluster)}>/*]`,
      'task IDs are assigned as the service starts tasks; the grant covers only tasks of this cluster (a worker protects its own task)',
    );
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.minWorkers ?? 0,
      securityGroups: [this.securityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      circuitBreaker: { rollback: true },
    });
    this.scaleOnBacklog(props.minWorkers ?? 0, props.maxWorkers ?? 20, valueOf('MEDIA_INGEST_WORKER_CONCURRENCY', values));
    acknowledge(this.taskDefinition.obtainExecutionRole(), 'AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken, which pulls the worker image, supports no resource-level permissions');
    acknowledge(this.taskDefinition, 'AwsSolutions-ECS2', 'the environment holds the configuration contract\'s settings and resource names; secrets never go in it (ECS injects the STT key from Secrets Manager)');
  }

  /** Exactly as many workers as the backlog needs, checked every minute: work arriving scales out within about one. */
  private scaleOnBacklog(min: number, max: number, concurrency: number): void {
    const period = Duration.minutes(1);
    const backlog = new cloudwatch.MathExpression({
      expression: 'waiting + running',
      usingMetrics: {
        waiting: this.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        running: this.queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: 'Maximum' }),
      },
      period,
      label: 'steps waiting or running',
    });
    this.service.autoScaleTaskCount({ minCapacity: min, maxCapacity: max }).scaleOnMetric('Backlog', {
      metric: backlog,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      scalingSteps: backlogSteps(concurrency, min, max),
      evaluationPeriods: 1,
      cooldown: period,
    });
  }
}
