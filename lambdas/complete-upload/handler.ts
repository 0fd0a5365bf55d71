import { apiEntry } from '../../core/api.js';
import { completeUpload } from './complete-upload.js';

/** AWS entry for `POST /uploads/{id}/complete`: 200 once the parts are one object, ready to be a job's source. */
export const { handler, forEnvironment } = apiEntry('complete-upload', 200, (deps) => (req) => completeUpload(req.tenant, req.id ?? '', req.body(), deps));
