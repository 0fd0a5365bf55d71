import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.js';

export interface NodeFunctionProps {
  /** Folder under lambdas/ whose handler.ts is the entry. */
  readonly name: string;
  readonly environment: Record<string, string>;
  /** Default: 30 seconds. */
  readonly timeout?: Duration;
}

/** A Lambda from lambdas/<name>/handler.ts, bundled as ESM by the project's own esbuild (no Docker). */
export class NodeFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id, {
      entry: join(REPO_ROOT, 'lambdas', props.name, 'handler.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      environment: { ...props.environment, POWERTOOLS_SERVICE_NAME: 'media-ingest' },
      logGroup: new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH }),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        // Bundled CommonJS dependencies still call require().
        banner: "import{createRequire}from'module';const require=createRequire(import.meta.url);",
        externalModules: ['@aws-sdk/*'],
      },
    });
  }
}
