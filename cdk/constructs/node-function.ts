import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { REQUIRE_BANNER } from '../bundling.js';
import { acknowledge, XRAY_REASON } from '../nag.js';
import { REPO_ROOT } from '../paths.js';
import { type Component, componentEnvironment, type VariableName } from '../../core/config.js';

export interface NodeFunctionProps {
  /** Folder under lambdas/ whose handler.ts is the entry; also its component in the configuration contract. */
  readonly name: Exclude<Component, 'worker' | 'statemachine'>;
  /** Resource names and settings; the function gets only the variables its contract names (core/config.ts). */
  readonly values: Partial<Record<VariableName, string>>;
  /** Default: 30 seconds. */
  readonly timeout?: Duration;
  /** Days the function's logs are kept. Default: one month. */
  readonly logRetention?: logs.RetentionDays;
}

/** How a function (and its role) names its component: the local runtime and the template tests find it by this. */
export function functionDescription(component: Component): string {
  return `media-ingest ${component} function`;
}

/**
 * A Lambda from lambdas/<name>/handler.ts, bundled as ESM by the project's own esbuild (no Docker), with its own
 * role that may write only to its own log group; everything else is granted by its owner, statement by statement.
 */
export class NodeFunction extends nodejs.NodejsFunction {
  /** The folder under lambdas/ it runs: the component's name. */
  readonly component: string;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: functionDescription(props.name),
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    super(scope, id, {
      entry: join(REPO_ROOT, 'lambdas', props.name, 'handler.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      role,
      logGroup,
      description: functionDescription(props.name),
      environment: componentEnvironment(props.name, props.values),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        banner: REQUIRE_BANNER,
        externalModules: ['@aws-sdk/*'],
      },
    });
    this.component = props.name;
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', XRAY_REASON);
  }
}
