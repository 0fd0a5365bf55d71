import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { checkedLookup, checkUrl, type EgressPolicy } from './egress.js';
import { logger } from './logger.js';
import { redactText } from './redact.js';

export interface EgressProxy {
  /** `http://127.0.0.1:PORT`, for http_proxy / https_proxy / --proxy. */
  readonly url: string;
  /** Requests refused so far, with the reason. */
  readonly refusals: string[];
  close(): Promise<void>;
}

function refuse(proxy: { refusals: string[] }, target: string, err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err);
  // A tool's request URL may be signed: what is kept and logged is redacted.
  proxy.refusals.push(redactText(`${target}: ${reason}`));
  logger.warn('egress refused', { target: redactText(target), reason });
  return reason;
}

/** Plain HTTP through the proxy: the absolute URL is checked, and so is every address it resolves to. */
function forward(policy: EgressPolicy, state: { refusals: string[] }, req: IncomingMessage, res: ServerResponse): void {
  let target: URL;
  try {
    target = checkUrl(policy, req.url ?? '');
    if (target.protocol !== 'http:') throw new Error('only http:// is forwarded; https goes through CONNECT');
  } catch (err) {
    res.writeHead(403, { 'content-type': 'text/plain', 'x-media-ingest-refused': 'egress' }).end(refuse(state, req.url ?? '', err));
    return;
  }
  const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
  delete headers['proxy-connection'];
  const upstream = httpRequest(
    { hostname: target.hostname, port: target.port || 80, path: target.pathname + target.search, method: req.method, headers, lookup: checkedLookup(policy) },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // A tool that hangs up mid-body ends both sides; nothing to report.
      pipeline(answer, res, () => undefined);
    },
  );
  upstream.on('error', (err) => {
    const status = err.name === 'UnsafeUrl' ? 403 : 502;
    if (status === 403) refuse(state, target.href, err);
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain', 'x-media-ingest-refused': status === 403 ? 'egress' : 'upstream' });
    res.end(err.message);
  });
  pipeline(req, upstream, () => undefined);
}

/** HTTPS through the proxy (CONNECT host:port): the tunnel opens only to a checked address. */
function tunnel(policy: EgressPolicy, state: { refusals: string[] }, req: IncomingMessage, client: Socket, head: Buffer): void {
  // The tool may hang up at any point, even right after a refusal.
  client.on('error', () => client.destroy());
  const deny = (status: string, reason: string): void => void client.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nx-media-ingest-refused: egress\r\n\r\n${reason}`);
  let target: URL;
  try {
    target = checkUrl(policy, `https://${req.url ?? ''}/`);
  } catch (err) {
    return deny('403 Forbidden', refuse(state, req.url ?? '', err));
  }
  const upstream = connect({ host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port || 443), lookup: checkedLookup(policy) });
  let open = false;
  upstream.once('connect', () => {
    open = true;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    pipeline(upstream, client, () => undefined);
    pipeline(client, upstream, () => undefined);
  });
  upstream.on('error', (err) => {
    if (open) return client.destroy();
    if (err.name === 'UnsafeUrl') deny('403 Forbidden', refuse(state, req.url ?? '', err));
    else deny('502 Bad Gateway', err.message);
  });
  client.on('close', () => upstream.destroy());
}

/**
 * A loopback forward proxy owned by the worker: the media tools (ffmpeg, yt-dlp, aria2c) are told to use it,
 * so their own requests, redirects and DNS answers pass the same egress policy as ours.
 */
export async function startEgressProxy(policy: EgressPolicy): Promise<EgressProxy> {
  const state = { refusals: [] as string[] };
  const server: Server = createServer((req, res) => forward(policy, state, req, res));
  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => tunnel(policy, state, req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refusals: state.refusals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Environment that sends a tool's HTTP(S) through the proxy, with no exceptions. */
export function proxyEnv(proxy: EgressProxy): Record<string, string> {
  return { http_proxy: proxy.url, https_proxy: proxy.url, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, no_proxy: '', NO_PROXY: '' };
}
