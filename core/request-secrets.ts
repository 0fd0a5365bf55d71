import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ExecutionInput, JobRequest } from './job.js';
import { isRedacted, redactUrl } from './redact.js';
import { stagingKey } from './storage.js';

/**
 * The real URLs of a request whose URLs carry secrets (userinfo, signatures, tokens). The record, the execution input
 * (hence its history and logs) and every response hold only the redacted URLs; the real ones are kept in one staging
 * object, read by whatever fetches (classify, the worker, notify) and deleted by notify when the job ends.
 */
export interface RealUrls {
  readonly sourceUrl: string;
  readonly callbackUrl?: string;
}

export const REQUEST_SECRETS_NAME = 'request-secrets.json';

function keyOf(tenant: string, jobId: string): string {
  return stagingKey(tenant, jobId, REQUEST_SECRETS_NAME);
}

/** The request as it may be stored, passed on and shown: its URLs redacted. */
export function redactRequest(request: JobRequest): JobRequest {
  const callbackUrl = request.callback_url === undefined ? {} : { callback_url: redactUrl(request.callback_url) };
  return { ...request, source: { ...request.source, url: redactUrl(request.source.url) }, ...callbackUrl };
}

/** Keeps the real URLs in staging when redaction changed them (written after the record, so a reused job id cannot overwrite another's). */
export async function keepRealUrls(s3: S3Client, bucket: string | undefined, tenant: string, jobId: string, request: JobRequest): Promise<void> {
  const redacted = redactRequest(request);
  if (redacted.source.url === request.source.url && redacted.callback_url === request.callback_url) return;
  if (!bucket) throw new Error('STAGING_BUCKET is not set: it keeps the real URLs of a request with secrets');
  const real: RealUrls = { sourceUrl: request.source.url, ...(request.callback_url ? { callbackUrl: request.callback_url } : {}) };
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: keyOf(tenant, jobId), Body: JSON.stringify(real), ContentType: 'application/json' }),
  );
}

/** The URLs to fetch for a job: the execution input's own, or the sealed ones when those were redacted. */
export async function realUrls(s3: S3Client, bucket: string | undefined, input: Pick<ExecutionInput, 'tenant' | 'jobId' | 'request'>): Promise<RealUrls> {
  const { request } = input;
  const given: RealUrls = { sourceUrl: request.source.url, ...(request.callback_url ? { callbackUrl: request.callback_url } : {}) };
  if (!isRedacted(given.sourceUrl) && !isRedacted(given.callbackUrl ?? '')) return given;
  if (!bucket) throw new Error('STAGING_BUCKET is not set: it keeps the real URLs of a request with secrets');
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(input.tenant, input.jobId) }));
  return JSON.parse(await out.Body!.transformToString()) as RealUrls;
}

/** The real URL of the source for a step that was told `url` (classify's, after redirects, redacted when signed). */
export async function fetchableSourceUrl(s3: S3Client, bucket: string | undefined, input: Pick<ExecutionInput, 'tenant' | 'jobId' | 'request'>, url: string): Promise<string> {
  // A redacted URL is fetched from the real request URL, its redirects followed again.
  return isRedacted(url) ? (await realUrls(s3, bucket, input)).sourceUrl : url;
}

/** Forgets the real URLs once the job has ended (nothing fetches the source or calls back after that). */
export async function dropRequestSecrets(s3: S3Client, bucket: string, tenant: string, jobId: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keyOf(tenant, jobId) }));
}
