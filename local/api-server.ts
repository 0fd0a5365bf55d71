import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyEvent } from './api-events.js';
import { LOCAL_TENANT, type LocalRuntime } from './runtime.js';

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
type Api = ReturnType<LocalRuntime['api']>;

/** The API Gateway routes, backed by the same Lambda handlers (on the environments the template gives them). */
const ROUTES: Array<{ method: string; pattern: RegExp; resource: string; handler: keyof Api }> = [
  { method: 'POST', pattern: /^\/jobs\/?$/, resource: '/jobs', handler: 'startJob' },
  { method: 'GET', pattern: /^\/jobs\/?$/, resource: '/jobs', handler: 'listJobs' },
  { method: 'GET', pattern: /^\/jobs\/(?<id>[^/]+)$/, resource: '/jobs/{id}', handler: 'getJob' },
  { method: 'DELETE', pattern: /^\/jobs\/(?<id>[^/]+)$/, resource: '/jobs/{id}', handler: 'cancelJob' },
  { method: 'POST', pattern: /^\/uploads\/?$/, resource: '/uploads', handler: 'createUpload' },
];

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The event for a request to `resource`; the caller is the local tenant (IAM identity on AWS). */
function eventOf(req: IncomingMessage, resource: string, body: string, params: Record<string, string>): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
  const query = Object.fromEntries(url.searchParams);
  return proxyEvent({ tenant: LOCAL_TENANT, method: req.method ?? 'GET', resource, path: url.pathname, body, params, query, headers });
}

/** `media-ingest serve`: the HTTP API on loopback. */
export async function startApiServer(port: number, runtime: LocalRuntime): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const route = ROUTES.find((r) => r.method === req.method && r.pattern.test(path));
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NotFound', message: `no route ${req.method} ${path}` } }));
      return;
    }
    const params = (route.pattern.exec(path)?.groups ?? {}) as Record<string, string>;
    readBody(req)
      .then((body) => (runtime.api()[route.handler] as Handler)(eventOf(req, route.resource, body, params)))
      .then((result) => res.writeHead(result.statusCode, result.headers as Record<string, string>).end(result.body))
      .catch((err: Error) => res.writeHead(500).end(JSON.stringify({ error: { code: 'InternalError', message: err.message } })));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
