import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse, json, parseBody, tenantOf } from '../../core/api.js';
import { entry } from '../../core/component.js';
import { withSecrets } from '../../core/secrets.js';
import { startJob } from './start-job.js';

/** AWS entry for `POST /jobs`: 202 with the job id. */
export const { handler, forEnvironment } = entry('start-job', (deps) => async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    const result = await startJob({ tenant: tenantOf(event), body: parseBody(event) }, { ...deps, config: await withSecrets(deps.config) });
    return json(202, result);
  } catch (err) {
    return errorResponse(err);
  }
});
