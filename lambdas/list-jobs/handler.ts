import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse, json, tenantOf } from '../../core/api.js';
import { entry, jobsTable } from '../../core/component.js';
import { InvalidRequestError } from '../../core/errors.js';
import { listJobs } from '../../core/records.js';

const MAX_LIMIT = 100;

/** AWS entry for `GET /jobs?limit=N&next=TOKEN`: the caller's jobs, newest first, a page at a time. */
export const { handler, forEnvironment } = entry('list-jobs', (deps) => async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    const query = event.queryStringParameters ?? {};
    const limit = query.limit === undefined ? 20 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new InvalidRequestError(`limit: must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    const page = await listJobs(jobsTable(deps), tenantOf(event), limit, query.next);
    return json(200, page);
  } catch (err) {
    return errorResponse(err);
  }
});
