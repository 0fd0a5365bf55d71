import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse, json, tenantOf } from '../../core/api.js';
import { entry, jobsTable } from '../../core/component.js';
import { JobNotFoundError } from '../../core/errors.js';
import { getJob } from '../../core/records.js';

/** AWS entry for `GET /jobs/{id}`: the caller's own job record, or 404 (another tenant's job is not found). */
export const { handler, forEnvironment } = entry('get-job', (deps) => async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    const jobId = event.pathParameters?.id ?? '';
    const record = await getJob(jobsTable(deps), tenantOf(event), jobId);
    if (!record) throw new JobNotFoundError(`no job ${jobId}`);
    return json(200, record);
  } catch (err) {
    return errorResponse(err);
  }
});
