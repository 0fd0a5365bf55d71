import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse, json, parseBody, tenantOf } from '../../core/api.js';
import { loadConfig } from '../../core/config.js';
import { withSecrets } from '../../core/secrets.js';
import { startJob } from './start-job.js';

/** AWS entry for `POST /jobs`: 202 with the job id. */
export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    const result = await startJob({ tenant: tenantOf(event), body: parseBody(event) }, await withSecrets(loadConfig()));
    return json(202, result);
  } catch (err) {
    return errorResponse(err);
  }
};
