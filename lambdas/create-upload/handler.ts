import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorResponse, json, parseBody, tenantOf } from '../../core/api.js';
import { entry } from '../../core/component.js';
import { createUpload } from './create-upload.js';

/** AWS entry for `POST /uploads`: 201 with a presigned PUT URL under the caller's upload prefix. */
export const { handler, forEnvironment } = entry('create-upload', (deps) => async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    return json(201, await createUpload(tenantOf(event), parseBody(event, {}), deps));
  } catch (err) {
    return errorResponse(err);
  }
});
