import { apiEntry } from '../../core/api.js';
import { cancelJob } from './cancel-job.js';

/** AWS entry for `DELETE /jobs/{id}`: 202 once the job is CANCELLED. */
export const { handler, forEnvironment } = apiEntry('cancel-job', 202, (deps) => (req) => cancelJob(req.tenant, req.id ?? '', deps));
