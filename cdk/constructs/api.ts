import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { z } from 'zod';
import { JobRequestSchema } from '../../core/job.js';
import type { VariableName } from '../../core/config.js';
import { PREFIXES } from '../../core/storage.js';
import { acknowledge, EXECUTIONS_REASON, executionsFinding, prefixFinding, UPLOADS_REASON } from '../nag.js';
import { JOBS_BY_TIME_INDEX } from '../../core/records.js';
import { CompleteUploadSchema, UPLOAD_RECORD_PREFIX, UploadRequestSchema } from '../../core/uploads.js';
import { NodeFunction } from './node-function.js';
import { grantList, grantObjects, grantRequestSecrets } from './grants.js';

export interface ApiProps {
  readonly table: dynamodb.ITableV2;
  readonly staging: s3.IBucket;
  readonly stateMachine: sfn.StateMachine;
  /** The callback signing key, read by start-job at cold start (a job with a callback_url is refused without it). */
  readonly callbackSecret: secretsmanager.ISecret;
  /** Resource names and settings; each function gets its contract's variables (core/config.ts). */
  readonly values: Partial<Record<VariableName, string>>;
  /** Steady-state requests per second across the API. Default: 50. */
  readonly throttleRatePerSecond?: number;
  /** Burst of requests above the rate. Default: 100. */
  readonly throttleBurst?: number;
  /** A WAFv2 web ACL to associate with the stage. Default: none. */
  readonly webAclArn?: string;
  /** Days access logs are kept. Default: one month. */
  readonly logRetention?: logs.RetentionDays;
}

/** The job request model API Gateway validates bodies against: generated from the same zod schema the handler uses. */
export function modelSchema(body: z.ZodType = JobRequestSchema): apigateway.JsonSchema {
  const { $schema: _, ...schema } = z.toJSONSchema(body, { target: 'draft-4', io: 'input' }) as Record<string, unknown>;
  return { ...schema, schema: apigateway.JsonSchemaVersion.DRAFT4 } as apigateway.JsonSchema;
}

/**
 * The REST API, IAM-authorised, throttled, access-logged and validating bodies:
 * `POST /jobs`, `GET /jobs`, `GET /jobs/{id}`, `DELETE /jobs/{id}` (cancel), `POST /uploads` (presigned PUT URLs for
 * the declared size), `POST /uploads/{id}/complete` (joins a multipart upload's parts): core/api-routes.ts.
 */
export class Api extends Construct {
  readonly restApi: apigateway.RestApi;
  readonly functions: NodeFunction[];

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { table, staging, stateMachine } = props;
    const values = { ...props.values, STATE_MACHINE_ARN: stateMachine.stateMachineArn };
    const startJob = new NodeFunction(this, 'StartJob', { name: 'start-job', values });
    props.callbackSecret.grantRead(startJob);
    const getJob = new NodeFunction(this, 'GetJob', { name: 'get-job', values });
    const listJobs = new NodeFunction(this, 'ListJobs', { name: 'list-jobs', values });
    const cancelJob = new NodeFunction(this, 'CancelJob', { name: 'cancel-job', values });
    const createUpload = new NodeFunction(this, 'CreateUpload', { name: 'create-upload', values });
    const completeUpload = new NodeFunction(this, 'CompleteUpload', { name: 'complete-upload', values });
    this.functions = [startJob, getJob, listJobs, cancelJob, createUpload, completeUpload];

    const item = (actions: string[]) => new iam.PolicyStatement({ actions, resources: [table.tableArn] });
    startJob.addToRolePolicy(item(['dynamodb:PutItem', 'dynamodb:UpdateItem']));
    // The real URLs of a request with secrets wait in staging (core/request-secrets.ts), never in the record.
    grantRequestSecrets(startJob, staging, ['s3:PutObject']);
    stateMachine.grantStartExecution(startJob);
    getJob.addToRolePolicy(item(['dynamodb:GetItem']));
    listJobs.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${table.tableArn}/index/${JOBS_BY_TIME_INDEX}`] }));
    cancelJob.addToRolePolicy(item(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
    stateMachine.grantExecution(cancelJob, 'states:StopExecution');
    acknowledge(cancelJob.role!, executionsFinding(stateMachine), EXECUTIONS_REASON);
    grantList(cancelJob.role!, staging, PREFIXES.staging);
    grantObjects(cancelJob.role!, staging, PREFIXES.staging, ['s3:DeleteObject']);
    // The presigned URLs carry this role's permission: a PUT under the uploads prefix (an object, a multipart upload
    // and its parts, the upload's record) and nothing else; the listing sums the tenant's declared sizes for its quota.
    grantList(createUpload.role!, staging, PREFIXES.uploads);
    grantObjects(createUpload.role!, staging, PREFIXES.uploads, ['s3:PutObject']);
    // Completing reads the upload's record and joins its parts (CompleteMultipartUpload is s3:PutObject).
    grantList(completeUpload.role!, staging, PREFIXES.uploads);
    completeUpload.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [staging.arnForObjects(`${PREFIXES.uploads}*/${UPLOAD_RECORD_PREFIX}*`)] }));
    acknowledge(completeUpload.role!, prefixFinding(staging, `${PREFIXES.uploads}*/${UPLOAD_RECORD_PREFIX}`), UPLOADS_REASON);
    grantObjects(completeUpload.role!, staging, PREFIXES.uploads, ['s3:PutObject']);

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.restApi = new apigateway.RestApi(this, 'RestApi', {
      description: 'media-ingest jobs API',
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: {
        throttlingRateLimit: props.throttleRatePerSecond ?? 50,
        throttlingBurstLimit: props.throttleBurst ?? 100,
        tracingEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.INFO,
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    const model = this.restApi.addModel('JobRequest', { contentType: 'application/json', schema: modelSchema(JobRequestSchema) });
    const uploadModel = this.restApi.addModel('UploadRequest', { contentType: 'application/json', schema: modelSchema(UploadRequestSchema) });
    const completeModel = this.restApi.addModel('CompleteUpload', { contentType: 'application/json', schema: modelSchema(CompleteUploadSchema) });
    const validator = this.restApi.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true });
    const jobs = this.restApi.root.addResource('jobs');
    const job = jobs.addResource('{id}');
    jobs.addMethod('POST', new apigateway.LambdaIntegration(startJob), { requestValidator: validator, requestModels: { 'application/json': model } });
    jobs.addMethod('GET', new apigateway.LambdaIntegration(listJobs), { requestValidator: validator });
    job.addMethod('GET', new apigateway.LambdaIntegration(getJob), { requestValidator: validator });
    job.addMethod('DELETE', new apigateway.LambdaIntegration(cancelJob), { requestValidator: validator });
    const uploads = this.restApi.root.addResource('uploads');
    uploads.addMethod('POST', new apigateway.LambdaIntegration(createUpload), { requestValidator: validator, requestModels: { 'application/json': uploadModel } });
    uploads
      .addResource('{id}')
      .addResource('complete')
      .addMethod('POST', new apigateway.LambdaIntegration(completeUpload), { requestValidator: validator, requestModels: { 'application/json': completeModel } });

    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', { resourceArn: this.restApi.deploymentStage.stageArn, webAclArn: props.webAclArn });
    } else {
      acknowledge(this.restApi, 'AwsSolutions-APIG3', 'every method needs SigV4 (IAM) and the stage is throttled; pass webAclArn to attach a WAF web ACL');
    }
    acknowledge(this.restApi, 'AwsSolutions-COG4', 'callers are services authorised by IAM (SigV4), not Cognito users');
    acknowledge(this.restApi, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'the account-level role API Gateway uses to write its logs; this managed policy is the one AWS documents for it');
  }
}
