import { apiEntry } from '../../core/api.js';
import { jobsTable } from '../../core/component.js';
import { JobNotFoundError } from '../../core/errors.js';
import { getJob } from '../../core/records.js';

/** AWS entry for `GET /jobs/{id}`: the caller's own job record, or 404 (another tenant's job is not found). */
export const { handler, forEnvironment } = apiEntry('get-job', 200, (deps) => async (req) => {
  const record = await getJob(jobsTable(deps), req.tenant, req.id ?? '');
  if (!record) throw new JobNotFoundError(`no job ${req.id ?? ''}`);
  return record;
});
