import { apiEntry } from '../../core/api.js';
import { jobsTable } from '../../core/component.js';
import { InvalidRequestError } from '../../core/errors.js';
import { wholeNumber } from '../../core/input.js';
import { listJobs } from '../../core/records.js';

const MAX_LIMIT = 100;

/** AWS entry for `GET /jobs?limit=N&next=TOKEN`: the caller's jobs, newest first, a page at a time. */
export const { handler, forEnvironment } = apiEntry('list-jobs', 200, (deps) => async (req) => {
  const limit = req.query.limit === undefined ? 20 : wholeNumber(req.query.limit);
  if (limit === undefined || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidRequestError(`limit: must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return listJobs(jobsTable(deps), req.tenant, limit, req.query.next);
});
