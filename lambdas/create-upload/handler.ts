import { apiEntry } from '../../core/api.js';
import { createUpload } from './create-upload.js';

/** AWS entry for `POST /uploads`: 201 with presigned PUT URLs (one, or one per part) for exactly the declared size. */
export const { handler, forEnvironment } = apiEntry('create-upload', 201, (deps) => (req) => createUpload(req.tenant, req.body(), deps), {});
