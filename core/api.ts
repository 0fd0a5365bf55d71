import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { logger } from './logger.js';
import { InvalidRequestError, MediaIngestError, type ErrorCode } from './errors.js';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  InvalidRequest: 400,
  UnsafeUrl: 400,
  JobNotFound: 404,
  Conflict: 409,
};

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
