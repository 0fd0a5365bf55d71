import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/*
 * s3rver takes any SigV4 signature. S3 checks a presigned URL's signature over its signed headers — Content-Length
 * among them for an upload ticket, so a body of another size is refused — and its expiry; so must the stand-in.
 */

const strict = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** `20260101T000000Z` as a time. */
function amzTime(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

/** Whether the request carries a query-string (presigned) SigV4 signature. */
export function isPresigned(req: IncomingMessage): boolean {
  return /[?&]X-Amz-Algorithm=/.test(req.url ?? '');
}

/**
 * Why S3 would refuse this presigned request (`SignatureDoesNotMatch`, `AccessDenied`), or undefined when it is
 * signed by one of `secrets` (access key → secret key), over the headers it names, and has not expired.
 */
export function presignedRefusal(req: IncomingMessage, secrets: Record<string, string>, now = Date.now()): { code: string; message: string } | undefined {
  const [path, rawQuery = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
  const pairs = rawQuery.split('&').filter(Boolean).map((p) => p.split('=', 2).map((x) => decodeURIComponent(x.replace(/\+/g, '%20'))) as [string, string?]);
  const q = Object.fromEntries(pairs.map(([k, v = '']) => [k, v]));
  const [accessKey, ...scope] = (q['X-Amz-Credential'] ?? '').split('/');
  const secret = secrets[accessKey ?? ''];
  const mismatch = { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' };
  if (!secret || scope.length !== 4 || q['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256') return mismatch;
  const signed = (q['X-Amz-SignedHeaders'] ?? '').split(';');
  const canonical = [
    req.method ?? 'GET',
    path,
    pairs.filter(([k]) => k !== 'X-Amz-Signature').map(([k, v = '']) => `${strict(k)}=${strict(v)}`).sort().join('&'),
    signed.map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join(''),
    signed.join(';'),
    q['X-Amz-Content-Sha256'] ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const date = q['X-Amz-Date'] ?? '';
  const toSign = ['AWS4-HMAC-SHA256', date, scope.join('/'), createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = scope.reduce<Buffer | string>((k, part) => hmac(k, part), `AWS4${secret}`);
  if (hmac(key, toSign).toString('hex') !== q['X-Amz-Signature']) return mismatch;
  if (!(now <= amzTime(date) + Number(q['X-Amz-Expires'] ?? 0) * 1000)) return { code: 'AccessDenied', message: 'Request has expired' };
  return undefined;
}
