import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type ErrorCode, MediaIngestError } from '../core/errors.js';

/** One API request as API Gateway receives it; the caller is `tenant` (its IAM identity on AWS). */
export interface ApiCall {
  tenant: string;
  method: string;
  /** The route as declared, e.g. `/jobs/{id}`. */
  resource: string;
  path: string;
  body?: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

/** The proxy event API Gateway would build for the call. */
export function proxyEvent(call: ApiCall): APIGatewayProxyEvent {
  return {
    resource: call.resource,
    path: call.path,
    httpMethod: call.method,
    headers: call.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: call.query ?? {},
    multiValueQueryStringParameters: null,
    pathParameters: call.params ?? {},
    stageVariables: null,
    body: call.body || null,
    isBase64Encoded: false,
    requestContext: { identity: { accountId: call.tenant } } as APIGatewayProxyEvent['requestContext'],
  };
}

/** A handler's answer as its caller reads it: the JSON body, or the error it names thrown with its stable code. */
export function answerOf(result: APIGatewayProxyResult): unknown {
  const body = JSON.parse(result.body) as { error?: { code: ErrorCode; message: string } };
  if (result.statusCode >= 400) throw new MediaIngestError(body.error!.code, body.error!.message);
  return body;
}
