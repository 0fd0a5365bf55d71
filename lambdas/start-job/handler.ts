import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse, json, tenantOf } from '../../core/api.js';
import { loadConfig } from '../../core/config.js';
import { InvalidRequestError } from '../../core/errors.js';
import { startJob } from './start-job.js';

function parseBody(event: APIGatewayProxyEvent): unknown {
  const raw = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(raw ?? '');
  } catch {
    throw new InvalidRequestError('(body): must be a JSON object');
  }
}

/** AWS entry for `POST /jobs`: 202 with the job id. */
export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    const result = await startJob({ tenant: tenantOf(event), body: parseBody(event) }, loadConfig());
    return json(202, result);
  } catch (err) {
    return errorResponse(err);
  }
};
