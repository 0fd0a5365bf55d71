import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type Deps, entry } from './component.js';
import type { Component } from './config.js';
import { z } from 'zod';
import { JobIdSchema } from './job.js';
import { logger } from './logger.js';
import { bodyLimit } from './api-routes.js';
import { InvalidRequestError, MediaIngestError, PayloadTooLargeError, type ErrorCode } from './errors.js';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  InvalidRequest: 400,
  UnsafeUrl: 400,
  // A declared upload size past the job limit: the request itself is what is wrong.
  TooLarge: 400,
  QuotaExceeded: 403,
  JobNotFound: 404,
  UploadNotFound: 404,
  RouteNotFound: 404,
  RequestTimeout: 408,
  Conflict: 409,
  PayloadTooLarge: 413,
};

/** PayloadTooLarge past the route's body limit (API Gateway stops at 10 MB; each route needs far less). */
export function bodySizeError(bytes: number, limit: number): PayloadTooLargeError | undefined {
  return bytes > limit ? new PayloadTooLargeError(`the request body has ${bytes} bytes or more; this route takes at most ${limit}`) : undefined;
}

export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** Maps an error to its HTTP answer; anything unexpected is logged and answered without internals. */
export function errorResponse(err: unknown): APIGatewayProxyResult {
  if (err instanceof MediaIngestError) {
    return json(STATUS_BY_CODE[err.code] ?? 500, { error: { code: err.code, message: err.message } });
  }
  logger.error('unexpected API error', { error: err as Error });
  return json(500, { error: { code: 'InternalError', message: 'internal error' } });
}

/** The tenant is the caller's identity (IAM account, or an authorizer's tenant claim), never the body. */
export function tenantOf(event: APIGatewayProxyEvent): string {
  const fromAuthorizer = event.requestContext.authorizer?.tenant as string | undefined;
  const raw = fromAuthorizer ?? event.requestContext.identity?.accountId ?? '';
  const tenant = raw.replace(/[^A-Za-z0-9_-]/g, '');
  if (!tenant) throw new InvalidRequestError('the caller has no identity to derive a tenant from');
  return tenant;
}

/** The request body as JSON; an empty body is `{}` only when `emptyIs` says so. */
export function parseBody(event: APIGatewayProxyEvent, emptyIs?: unknown): unknown {
  const raw = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (!raw && emptyIs !== undefined) return emptyIs;
  try {
    return JSON.parse(raw ?? '');
  } catch {
    throw new InvalidRequestError('(body): must be a JSON object');
  }
}

/** What an API function's logic gets from its request: the caller's tenant, and the parts it names. */
export interface ApiRequest {
  tenant: string;
  /** The body as JSON (`emptyBody` when there is none and the route allows it). */
  body: () => unknown;
  /** The `{id}` path parameter: a job's id, or an upload's. */
  id: string | undefined;
  query: Record<string, string | undefined>;
}

/**
 * An API Gateway entry: the tenant from the caller's identity, the body parsed on demand, the answer as JSON with
 * `status`, errors as their stable codes, and the request id and job id on every log line while it runs.
 */
export function apiEntry(component: Component, status: number, make: (deps: Deps) => (req: ApiRequest) => Promise<unknown>, emptyBody?: unknown) {
  return entry(component, (deps) => {
    const run = make(deps);
    const limit = bodyLimit(component, deps.config.MEDIA_INGEST_MAX_REQUEST_BYTES);
    const idKey = component.endsWith('-upload') ? 'uploadId' : 'jobId';
    return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
      const id = event.pathParameters?.id;
      const badId = id === undefined ? undefined : (idKey === 'jobId' ? JobIdSchema : z.uuid()).safeParse(id).error;
      logger.appendKeys({ requestId: event.requestContext?.requestId, ...(id && !badId ? { [idKey]: id } : {}) });
      try {
        // An id no job or upload can have is refused before it reaches DynamoDB (whose key limit would make it a 500).
        if (badId) throw new InvalidRequestError(`id: ${badId.issues[0]?.message ?? 'not a valid id'}`);
        const tooLarge = bodySizeError(Buffer.byteLength(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'), limit);
        if (tooLarge) throw tooLarge;
        const result = await run({ tenant: tenantOf(event), body: () => parseBody(event, emptyBody), id, query: event.queryStringParameters ?? {} });
        return json(status, result);
      } catch (err) {
        return errorResponse(err);
      } finally {
        logger.resetKeys();
      }
    };
  });
}
