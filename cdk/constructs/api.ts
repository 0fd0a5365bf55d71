import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { NodeFunction } from './node-function.js';

export interface ApiProps {
  readonly table: dynamodb.ITableV2;
  readonly stateMachine: sfn.IStateMachine;
}

/** The REST API, IAM-authorised: `POST /jobs` starts a job, `GET /jobs/{id}` reads one. */
export class Api extends Construct {
  readonly restApi: apigateway.RestApi;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const environment = { JOBS_TABLE: props.table.tableName, STATE_MACHINE_ARN: props.stateMachine.stateMachineArn };
    const startJob = new NodeFunction(this, 'StartJob', { name: 'start-job', environment });
    const getJob = new NodeFunction(this, 'GetJob', { name: 'get-job', environment });
    props.table.grantReadWriteData(startJob);
    props.table.grantReadData(getJob);
    props.stateMachine.grantStartExecution(startJob);

    this.restApi = new apigateway.RestApi(this, 'RestApi', {
      description: 'media-ingest jobs API',
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: { throttlingRateLimit: 50, throttlingBurstLimit: 100, tracingEnabled: true },
    });
    const jobs = this.restApi.root.addResource('jobs');
    jobs.addMethod('POST', new apigateway.LambdaIntegration(startJob));
    jobs.addResource('{id}').addMethod('GET', new apigateway.LambdaIntegration(getJob));
  }
}
