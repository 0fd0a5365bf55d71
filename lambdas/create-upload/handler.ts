import { apiEntry } from '../../core/api.js';
import { createUpload } from './create-upload.js';

/** AWS entry for `POST /uploads`: 201 with a presigned PUT URL under the caller's upload prefix. */
export const { handler, forEnvironment } = apiEntry('create-upload', 201, (deps) => (req) => createUpload(req.tenant, req.body(), deps), {});
