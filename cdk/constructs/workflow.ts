import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ASL_FILE } from '../paths.js';
import { NodeFunction } from './node-function.js';
import { WORKER_CONTAINER_NAME, type Workers } from './workers.js';

export interface WorkflowProps {
  readonly table: dynamodb.ITableV2;
  readonly staging: s3.IBucket;
  readonly artifacts: s3.IBucket;
  readonly workers: Workers;
  /** Hosts the egress policy lets through although they resolve to private ranges. Default: none. */
  readonly allowHosts?: readonly string[];
}

/** The state machine from statemachine/pipeline.asl.json and the Lambdas it invokes. */
export class Workflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The values CDK passes for the ASL's `${Key}` placeholders. */
  readonly substitutions: Record<string, string>;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const { table, staging, artifacts, workers } = props;
    const environment = {
      JOBS_TABLE: table.tableName,
      STAGING_BUCKET: staging.bucketName,
      ARTIFACTS_BUCKET: artifacts.bucketName,
      MEDIA_INGEST_ALLOW_HOSTS: (props.allowHosts ?? []).join(','),
    };
    const classify = new NodeFunction(this, 'Classify', { name: 'classify', environment });
    const publish = new NodeFunction(this, 'Publish', { name: 'publish', environment, timeout: Duration.minutes(5) });
    const notify = new NodeFunction(this, 'Notify', { name: 'notify', environment, timeout: Duration.minutes(2) });
    staging.grantRead(publish);
    artifacts.grantReadWrite(publish);
    table.grantReadWriteData(notify);

    const [subnetA, subnetB] = workers.vpc.privateSubnets;
    this.substitutions = {
      ClassifyFunctionArn: classify.functionArn,
      PublishFunctionArn: publish.functionArn,
      NotifyFunctionArn: notify.functionArn,
      JobsTableName: table.tableName,
      StagingBucketName: staging.bucketName,
      ClusterArn: workers.cluster.clusterArn,
      WorkerTaskDefinitionArn: workers.taskDefinition.taskDefinitionArn,
      WorkerContainerName: WORKER_CONTAINER_NAME,
      PrivateSubnetA: subnetA!.subnetId,
      PrivateSubnetB: subnetB!.subnetId,
      WorkerSecurityGroupId: workers.securityGroup.securityGroupId,
    };

    this.stateMachine = new sfn.StateMachine(this, 'Pipeline', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(ASL_FILE),
      definitionSubstitutions: this.substitutions,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'ExecutionLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    // The ASL is a file, so CDK cannot infer what it calls: grant exactly that.
    for (const fn of [classify, publish, notify]) fn.grantInvoke(this.stateMachine);
    table.grant(this.stateMachine, 'dynamodb:UpdateItem');
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ecs:RunTask'], resources: [workers.taskDefinition.taskDefinitionArn] }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [workers.taskDefinition.taskRole.roleArn, workers.taskDefinition.obtainExecutionRole().roleArn],
      }),
    );

    // The worker reads and writes staging, reports progress on the job, and answers its task token.
    const taskRole = workers.taskDefinition.taskRole;
    staging.grantReadWrite(taskRole);
    table.grant(taskRole, 'dynamodb:UpdateItem');
    new iam.Policy(this, 'WorkerTaskResponse', {
      roles: [taskRole as iam.IRole],
      statements: [
        new iam.PolicyStatement({
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
          resources: [this.stateMachine.stateMachineArn],
        }),
      ],
    });
  }
}
