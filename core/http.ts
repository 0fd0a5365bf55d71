import { Agent, fetch, type FormData, type Response } from 'undici';
import type { Config } from './config.js';
import { checkedLookup, checkUrl, type EgressPolicy } from './egress.js';
import {
  ExtractionFailedError,
  InvalidRequestError,
  MediaIngestError,
  SourceForbiddenError,
  SourceNotFoundError,
  SourceUnavailableError,
  StepTimeoutError,
} from './errors.js';
import { readBody } from './limits.js';

export interface SafeFetchOptions {
  readonly method?: 'GET' | 'HEAD' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string | FormData;
  readonly signal?: AbortSignal;
  /** A rule every redirect hop must pass besides the egress policy (callbacks: their allowlist); throws to refuse. */
  readonly checkHop?: (url: URL) => void;
}

export interface SafeResponse {
  readonly response: Response;
  /** The URL after redirects: later requests (ranges) go there directly, re-checked. */
  readonly url: string;
}

const agents = new WeakMap<Config, Agent>();

export function policyOf(config: Config): EgressPolicy {
  return { allowHosts: config.MEDIA_INGEST_ALLOW_HOSTS };
}

/** One connection pool per configuration, whose every connect goes through the egress check. */
function agentFor(config: Config): Agent {
  let agent = agents.get(config);
  if (!agent) {
    agent = new Agent({
      connect: { lookup: checkedLookup(policyOf(config)), timeout: config.MEDIA_INGEST_CONNECT_TIMEOUT_MS },
      connections: config.MEDIA_INGEST_MAX_CONNECTIONS_PER_HOST,
      headersTimeout: config.MEDIA_INGEST_IDLE_TIMEOUT_MS,
      bodyTimeout: config.MEDIA_INGEST_IDLE_TIMEOUT_MS,
    });
    agents.set(config, agent);
  }
  return agent;
}

/** Cuts every connection to sources this configuration's fetches hold, for good: a stopping worker reads no byte more. */
export function dropSourceConnections(config: Config): void {
  // The destroyed pool stays this configuration's: a retry after the cut fails at once instead of connecting again.
  agentFor(config).destroy().catch(() => undefined);
}

/** Finds our own refusal or timeout inside fetch's wrapped network errors. */
function networkError(err: unknown, url: string): MediaIngestError {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof MediaIngestError) return e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new StepTimeoutError(`no data from ${new URL(url).host} within the idle timeout`, { cause: err });
    }
    if (e.name === 'AbortError' || e.name === 'TimeoutError') {
      return new StepTimeoutError(`request to ${new URL(url).host} was aborted: ${e.message}`, { cause: err });
    }
  }
  const reason = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
  return new SourceUnavailableError(`cannot reach ${new URL(url).host}: ${reason}`, { cause: err });
}

/** Fetches with the egress policy on the first URL, every redirect hop and every resolved address. */
export async function safeFetch(config: Config, rawUrl: string, options: SafeFetchOptions = {}): Promise<SafeResponse> {
  const policy = policyOf(config);
  let url = checkUrl(policy, rawUrl).toString();
  // fetch refuses userinfo in a URL: it goes as Basic credentials, and only to the origin it was given for.
  const { origin, authorization } = credentialsOf(url);
  url = withoutCredentials(url);
  for (let hop = 0; ; hop++) {
    let response: Response;
    const auth = authorization && new URL(url).origin === origin ? { authorization } : {};
    try {
      response = await fetch(url, {
        method: options.method ?? 'GET',
        // Sizes, limits and progress count bytes on the wire: fetch would otherwise inflate a compressed body unseen.
        headers: { 'accept-encoding': 'identity', ...options.headers, ...auth },
        body: options.body,
        redirect: 'manual',
        signal: options.signal,
        dispatcher: agentFor(config),
      });
    } catch (err) {
      throw networkError(err, url);
    }
    const location = response.headers.get('location');
    // The URL handed back keeps its credentials while on their origin: later range requests need them too.
    if (response.status < 300 || response.status >= 400 || !location) return { response, url: auth.authorization ? withCredentialsOf(rawUrl, url) : url };
    await response.body?.cancel();
    if (hop >= config.MEDIA_INGEST_MAX_REDIRECTS) {
      throw new InvalidRequestError(`more than ${config.MEDIA_INGEST_MAX_REDIRECTS} redirects from ${rawUrl}`);
    }
    const next = checkUrl(policy, new URL(location, url).toString());
    options.checkHop?.(next);
    url = withoutCredentials(next.toString());
  }
}

function credentialsOf(raw: string): { origin: string; authorization?: string } {
  const url = new URL(raw);
  if (!url.username && !url.password) return { origin: url.origin };
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { origin: url.origin, authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
}

function withCredentialsOf(from: string, raw: string): string {
  const source = new URL(from);
  const url = new URL(raw);
  url.username = source.username;
  url.password = source.password;
  return url.toString();
}

function withoutCredentials(raw: string): string {
  const url = new URL(raw);
  if (!url.username && !url.password) return raw;
  url.username = '';
  url.password = '';
  return url.toString();
}

/** The stable error for an HTTP status a source answered with. */
export function statusError(status: number, url: string): MediaIngestError {
  const where = `${new URL(url).host}${new URL(url).pathname}`;
  if (status === 404 || status === 410) return new SourceNotFoundError(`source not found (HTTP ${status}): ${where}`);
  if (status === 401 || status === 403) return new SourceForbiddenError(`source refused access (HTTP ${status}): ${where}`);
  if (status === 408 || status === 429 || status >= 500) {
    return new SourceUnavailableError(`source unavailable (HTTP ${status}): ${where}`);
  }
  return new ExtractionFailedError(`source answered HTTP ${status}: ${where}`);
}

/** Reads a network error raised while streaming a body into the stable error. */
export function bodyError(err: unknown, url: string): MediaIngestError {
  return networkError(err, url);
}

/** Total size from `Content-Range: bytes 0-4095/12345`, or from Content-Length on a 200. */
export function totalSize(headers: Headers, status: number): number | undefined {
  const range = headers.get('content-range')?.match(/\/(\d+)$/);
  if (status === 206 && range) return Number(range[1]);
  const length = headers.get('content-length');
  return status === 200 && length !== null ? Number(length) : undefined;
}

/**
 * Asks for the first byte only: whether the resource serves ranges as asked (else it is read as one stream), its size,
 * and what identifies this version of it (ETag, else Last-Modified, with the size), so kept parts of another version
 * are never reused. `headers` (a platform format's Referer, User-Agent) go with it and come back with the answer, for
 * every later request of the resource.
 */
export async function probeRanges(
  config: Config,
  rawUrl: string,
  headers?: Record<string, string>,
): Promise<{ url: string; acceptRanges: boolean; bytes: number; version: string; headers?: Record<string, string> }> {
  const { response, url } = await safeFetch(config, rawUrl, { headers: { ...headers, range: 'bytes=0-0' } });
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw statusError(response.status, url);
  }
  // Two bytes at most: a server that sends more than the one asked (to the end, or the file from its start) mis-serves ranges.
  const head = await readBody(response.body, 2).catch(() => Buffer.alloc(0));
  const honoured = response.status === 206 && response.headers.get('content-range')?.startsWith('bytes 0-0/') === true && head.length === 1;
  const bytes = totalSize(response.headers, response.status) ?? 0;
  const version = `${response.headers.get('etag') ?? response.headers.get('last-modified') ?? ''}|${bytes}`;
  return { url, acceptRanges: honoured, bytes, version, ...(headers ? { headers } : {}) };
}
