import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodySizeError, errorResponse } from '../core/api.js';
import { API_ROUTES, bodyLimit } from '../core/api-routes.js';
import { InvalidRequestError, RequestTimeoutError, RouteNotFoundError } from '../core/errors.js';
import { proxyEvent } from './api-events.js';
import { LOCAL_TENANT, type LocalRuntime } from './runtime.js';


/** How long a request body may take to arrive (API Gateway's own is about its 29-second integration timeout). */
export const BODY_TIMEOUT_MS = 30_000;

/** The API Gateway routes (core/api-routes.ts), backed by the same Lambda handlers (on the template's environments). */
const ROUTES = API_ROUTES.map((route) => ({
  ...route,
  pattern: new RegExp(`^${route.resource.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}/?$`),
}));

/**
 * The body, up to `limit` bytes within `timeoutMs`: a declared or counted length past the limit is PayloadTooLarge
 * and a body that has not ended in time is RequestTimeout, both without reading (or keeping) the rest.
 */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const fail = (err: Error) => {
      clearTimeout(timer);
      req.removeAllListeners('data').pause();
      reject(err);
    };
    const timer = setTimeout(() => fail(new RequestTimeoutError(`the request body did not arrive within ${timeoutMs} ms`)), timeoutMs);
    const declared = bodySizeError(Number(req.headers['content-length'] ?? 0), limit);
    if (declared) return fail(declared);
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      const counted = bodySizeError(bytes, limit);
      if (counted) return fail(counted);
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', fail);
  });
}

/** The event for a request to `resource`; the caller is the local tenant (IAM identity on AWS). */
function eventOf(req: IncomingMessage, resource: string, body: string, params: Record<string, string>): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
  const query = Object.fromEntries(url.searchParams);
  return proxyEvent({ tenant: LOCAL_TENANT, method: req.method ?? 'GET', resource, path: url.pathname, body, params, query, headers });
}

/** A refused request's answer; the connection closes after it, so the rest of its body is never read. */
function refuse(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  const answer = errorResponse(err);
  res.writeHead(answer.statusCode, { ...(answer.headers as Record<string, string>), connection: 'close' }).end(answer.body);
  res.on('finish', () => req.socket.end());
}

export interface ApiServerOptions {
  /** How long a request body may take. Default: BODY_TIMEOUT_MS. */
  bodyTimeoutMs?: number;
}

/** `media-ingest serve`: the HTTP API on loopback. */
export async function startApiServer(port: number, runtime: LocalRuntime, options: ApiServerOptions = {}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const route = ROUTES.find((r) => r.method === req.method && r.pattern.test(path));
    if (!route) return refuse(req, res, new RouteNotFoundError(`no route ${req.method} ${path}`));
    let params: Record<string, string>;
    try {
      // API Gateway hands the handler path parameters URL-decoded.
      params = Object.fromEntries(Object.entries(route.pattern.exec(path)?.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
    } catch {
      return refuse(req, res, new InvalidRequestError(`the path ${path} is not validly URL-encoded`));
    }
    const limit = bodyLimit(route.component, runtime.config.MEDIA_INGEST_MAX_REQUEST_BYTES);
    readBody(req, limit, options.bodyTimeoutMs ?? BODY_TIMEOUT_MS).then(
      (body) =>
        runtime.api()[route.component](eventOf(req, route.resource, body, params))
          .then((result) => res.writeHead(result.statusCode, result.headers as Record<string, string>).end(result.body))
          .catch((err: unknown) => refuse(req, res, err)),
      (err: unknown) => refuse(req, res, err),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
