import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Acknowledges one cdk-nag finding on one construct (and its children), with the reason a reviewer will read. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export const XRAY_REASON =
  'X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* do not support resource-level permissions (AWS documents Resource "*")';

/** The IAM5 finding ID cdk-nag gives a statement on `<bucket>/<prefix>*`. */
export function prefixFinding(bucket: import('aws-cdk-lib/aws-s3').IBucket, prefix: string): string {
  const cfn = bucket.node.defaultChild as import('aws-cdk-lib').CfnResource;
  return `AwsSolutions-IAM5[Resource::<${Stack.of(cfn).getLogicalId(cfn)}.Arn>/${prefix}*]`;
}

export const PREFIX_REASON = 'objects are named per tenant and job under this prefix: the prefix is the narrowest static scope';
export const UPLOADS_REASON =
  'uploads are named per tenant under this prefix; the code refuses a key outside the job tenant\'s own prefix';

/** `<region>:<account>` as cdk-nag prints them in a finding ID: literal in a stack with an explicit env. */
export function findingEnv(scope: IConstruct): string {
  const { region, account } = Stack.of(scope);
  return `${Token.isUnresolved(region) ? '<AWS::Region>' : region}:${Token.isUnresolved(account) ? '<AWS::AccountId>' : account}`;
}

/** The IAM5 finding ID cdk-nag gives a grant on every execution of a state machine (`…:execution:<name>:*`). */
export function executionsFinding(stateMachine: import('aws-cdk-lib/aws-stepfunctions').StateMachine): string {
  const cfn = stateMachine.node.defaultChild as import('aws-cdk-lib').CfnResource;
  const name = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${Stack.of(cfn).getLogicalId(cfn)}"}]}]}`;
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${findingEnv(cfn)}:execution:${name}:*]`;
}

export const EXECUTIONS_REASON = 'execution ARNs are created per job; this grant is limited to executions of this one state machine';
