import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse, json, tenantOf } from '../../core/api.js';
import { entry } from '../../core/component.js';
import { cancelJob } from './cancel-job.js';

/** AWS entry for `DELETE /jobs/{id}`: 202 once the job is CANCELLED. */
export const { handler, forEnvironment } = entry('cancel-job', (deps) => async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    return json(202, await cancelJob(tenantOf(event), event.pathParameters?.id ?? '', deps));
  } catch (err) {
    return errorResponse(err);
  }
});
