/** The local values for every `${Key}` in statemachine/pipeline.asl.json (CDK passes the AWS ones). */
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

export const LOCAL_SUBSTITUTIONS = {
  ClassifyFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:media-ingest-classify`,
  PublishFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:media-ingest-publish`,
  NotifyFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:media-ingest-notify`,
  JobsTableName: 'media-ingest-jobs',
  ClusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/media-ingest-local`,
  WorkerTaskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/media-worker:1`,
  WorkerContainerName: 'media-worker',
  PrivateSubnetA: 'subnet-local-a',
  PrivateSubnetB: 'subnet-local-b',
  WorkerSecurityGroupId: 'sg-local',
} as const;

export const LOCAL_STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:media-ingest-local`;
export const LOCAL_REGION = REGION;

/** The local values of the stack's outputs (cdk/stack.ts), for resources the ASL does not name. */
export const LOCAL_OUTPUTS = {
  JobsTableName: LOCAL_SUBSTITUTIONS.JobsTableName,
  StagingBucketName: 'media-ingest-staging',
  ArtifactsBucketName: 'media-ingest-artifacts',
  StateMachineArn: LOCAL_STATE_MACHINE_ARN,
  CallbackSecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:media-ingest-callback`,
} as const;

/** Fills `${Key}` placeholders; an unknown key is an error, never left in place. */
export function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`no local value for substitution \${${key}}`);
    return value;
  });
}
