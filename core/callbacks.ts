import { createHmac } from 'node:crypto';
import type { Config } from './config.js';
import { InvalidRequestError } from './errors.js';

export const SIGNATURE_HEADER = 'x-media-ingest-signature';

/** A callback may go only to an allowlisted host, and only when a signing secret is configured. */
export function checkCallbackUrl(config: Config, raw: string): { url: URL; secret: string } {
  const secret = config.MEDIA_INGEST_CALLBACK_SECRET;
  if (!secret) {
    throw new InvalidRequestError('callback_url: callbacks are not configured here (MEDIA_INGEST_CALLBACK_SECRET is not set)');
  }
  const url = new URL(raw);
  if (!config.MEDIA_INGEST_CALLBACK_ALLOW_HOSTS.includes(url.hostname.toLowerCase())) {
    throw new InvalidRequestError(`callback_url: host ${url.hostname} is not on the callback allowlist (MEDIA_INGEST_CALLBACK_ALLOW_HOSTS)`);
  }
  return { url, secret };
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it with the shared secret and
 * rejects old timestamps, so a captured callback cannot be replayed later.
 */
export function signCallback(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}
