import { createHmac } from 'node:crypto';
import type { Config } from './config.js';
import { normaliseHost } from './egress.js';
import { InvalidRequestError, UnsafeUrlError } from './errors.js';
import { safeFetch } from './http.js';
import { logger } from './logger.js';
import { backoffMs, retry } from './retry.js';
import { type CallbackOutcome, getJob, type JobsTable, recordCallback } from './records.js';

export const SIGNATURE_HEADER = 'x-media-ingest-signature';

/** A callback may go only to an allowlisted host, and only when a signing secret is configured. */
export function checkCallbackUrl(config: Config, raw: string): { url: URL; secret: string } {
  const secret = config.MEDIA_INGEST_CALLBACK_SECRET;
  if (!secret) {
    throw new InvalidRequestError('callback_url: callbacks are not configured here (MEDIA_INGEST_CALLBACK_SECRET is not set)');
  }
  const url = new URL(raw);
  if (!onCallbackAllowlist(config, url)) {
    throw new InvalidRequestError(`callback_url: host ${url.hostname} is not on the callback allowlist (MEDIA_INGEST_CALLBACK_ALLOW_HOSTS)`);
  }
  return { url, secret };
}

/** Compared as the egress policy compares hosts: case and a trailing dot make no difference. */
function onCallbackAllowlist(config: Config, url: URL): boolean {
  return config.MEDIA_INGEST_CALLBACK_ALLOW_HOSTS.map(normaliseHost).includes(normaliseHost(url.hostname));
}

/** A redirect hop of a callback: off the allowlist, delivery ends there (UnsafeUrl, never retried) and nothing is sent. */
function checkCallbackHop(config: Config): (hop: URL) => void {
  return (hop) => {
    if (!onCallbackAllowlist(config, hop)) {
      throw new UnsafeUrlError(`callback redirect to host ${hop.hostname} refused: it is not on the callback allowlist (MEDIA_INGEST_CALLBACK_ALLOW_HOSTS)`, {
        details: { host: hop.hostname },
      });
    }
  };
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it with the shared secret and
 * rejects old timestamps, so a captured callback cannot be replayed later.
 */
export function signCallback(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * POSTs the job's current record to `callbackUrl`, signed, with bounded retries; the outcome is recorded on the
 * job and returned, never raised (Notify and reconcile both deliver through here).
 */
export async function deliverCallback(config: Config, table: JobsTable, tenant: string, jobId: string, callbackUrl: string): Promise<CallbackOutcome> {
  const outcome: CallbackOutcome = { delivered: false, attempts: 0 };
  let secret: string;
  try {
    // Checked again here: the allowlist may have changed since the job was accepted.
    ({ secret } = checkCallbackUrl(config, callbackUrl));
  } catch (err) {
    outcome.error = `${(err as Error).name}: ${(err as Error).message}`;
    await recordCallback(table, tenant, jobId, outcome);
    return outcome;
  }
  const body = JSON.stringify(await getJob(table, tenant, jobId));

  await retry(
    async (attempt) => {
      outcome.attempts = attempt;
      let ok = false;
      try {
        const { response } = await safeFetch(config, callbackUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'media-ingest',
            [SIGNATURE_HEADER]: signCallback(secret, body, Math.floor(Date.now() / 1000)),
          },
          body,
          signal: AbortSignal.timeout(10_000),
          // The signature and the record go to allowlisted hosts only, whatever the receiver redirects to.
          checkHop: checkCallbackHop(config),
        });
        await response.body?.cancel();
        outcome.status = response.status;
        ok = response.ok;
        delete outcome.error;
      } catch (err) {
        outcome.error = `${(err as Error).name}: ${(err as Error).message}`;
        throw err;
      }
      if (!ok) throw new Error(`the callback receiver answered HTTP ${outcome.status}`);
      outcome.delivered = true;
    },
    {
      attempts: config.MEDIA_INGEST_CALLBACK_ATTEMPTS,
      // A refused destination will not become safe by retrying.
      retryable: (err) => (err as Error).name !== 'UnsafeUrl',
      delayMs: (attempt) => backoffMs(attempt, 500),
    },
  ).catch(() => undefined);
  logger.info('callback', { jobId, ...outcome });
  await recordCallback(table, tenant, jobId, outcome);
  return outcome;
}
