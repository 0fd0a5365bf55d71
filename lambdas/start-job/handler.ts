import { apiEntry } from '../../core/api.js';
import { withSecrets } from '../../core/secrets.js';
import { startJob } from './start-job.js';

/** AWS entry for `POST /jobs`: 202 with the job id. */
export const { handler, forEnvironment } = apiEntry('start-job', 202, (deps) => async (req) =>
  startJob({ tenant: req.tenant, body: req.body() }, { ...deps, config: await withSecrets(deps.config) }),
);
