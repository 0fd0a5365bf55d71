import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ApiComponent } from '../core/api-routes.js';
import type { Component } from '../core/config.js';
import * as cancelJob from '../lambdas/cancel-job/handler.js';
import * as completeUpload from '../lambdas/complete-upload/handler.js';
import * as createUpload from '../lambdas/create-upload/handler.js';
import * as getJob from '../lambdas/get-job/handler.js';
import * as listJobs from '../lambdas/list-jobs/handler.js';
import * as startJob from '../lambdas/start-job/handler.js';

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
type Env = (component: Component) => Record<string, string | undefined>;

/** The API's functions by component, each on the environment the template gives it, as API Gateway invokes them. */
export function apiHandlers(env: Env): Record<ApiComponent, ApiHandler> {
  return {
    'start-job': startJob.forEnvironment(env('start-job')),
    'list-jobs': listJobs.forEnvironment(env('list-jobs')),
    'get-job': getJob.forEnvironment(env('get-job')),
    'cancel-job': cancelJob.forEnvironment(env('cancel-job')),
    'create-upload': createUpload.forEnvironment(env('create-upload')),
    'complete-upload': completeUpload.forEnvironment(env('complete-upload')),
  };
}
