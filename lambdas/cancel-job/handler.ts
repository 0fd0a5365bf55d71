import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse, json, tenantOf } from '../../core/api.js';
import { loadConfig } from '../../core/config.js';
import { cancelJob } from './cancel-job.js';

/** AWS entry for `DELETE /jobs/{id}`: 202 once the job is CANCELLED. */
export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    return json(202, await cancelJob(tenantOf(event), event.pathParameters?.id ?? '', loadConfig()));
  } catch (err) {
    return errorResponse(err);
  }
};
