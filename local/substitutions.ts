/** The local values for every `${Key}` in statemachine/pipeline.asl.json (CDK passes the AWS ones). */
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

export const LOCAL_SUBSTITUTIONS = {
  ClassifyFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:media-ingest-classify`,
  PublishFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:media-ingest-publish`,
  NotifyFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:media-ingest-notify`,
  JobsTableName: 'media-ingest-jobs',
  // The SQS stand-in's own URL replaces it once the stand-in listens (its port is chosen then): see withQueue.
  WorkQueueUrl: `http://sqs.${REGION}.localhost/${ACCOUNT}/media-ingest-work`,
} as const;

/** The work queue and its dead-letter queue in the SQS stand-in. */
export const LOCAL_QUEUES = { work: 'media-ingest-work', deadLetters: 'media-ingest-work-dead-letters' } as const;

/** The substitutions with the SQS stand-in's real queue URL. */
export function withQueue(workQueueUrl: string): Record<string, string> {
  return { ...LOCAL_SUBSTITUTIONS, WorkQueueUrl: workQueueUrl };
}

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
