import type { Deps } from '../../core/component.js';
import { resolveUpload, uploadHead } from '../../core/uploads.js';
import { checkUrl } from '../../core/egress.js';
import { NotMediaError, UnsupportedSourceError } from '../../core/errors.js';
import { checkBytes, readBody } from '../../core/limits.js';
import { policyOf, safeFetch, statusError, totalSize } from '../../core/http.js';
import { loadDash } from '../../core/dash.js';
import { type ClassifyCheckpoint, ExecutionInputSchema } from '../../core/job.js';
import { parseInput } from '../../core/input.js';
import { loadHls } from '../../core/playlist.js';
import { claimsMedia, sniff } from '../../core/sniff.js';
import { redactUrl } from '../../core/redact.js';
import { realUrls } from '../../core/request-secrets.js';

const PROBE_BYTES = 4096;

/** Decides the kind of a source by probing it: status, headers and the first bytes, not the extension alone. */
export async function classify(event: unknown, deps: Deps): Promise<ClassifyCheckpoint> {
  const started = Date.now();
  const { config } = deps;
  const input = parseInput(ExecutionInputSchema, event);
  const { source } = input.request;
  if (source.type === 'upload') return classifyUpload(input.tenant, source.url, deps, started);
  checkUrl(policyOf(config), source.url);
  // The caller says it is a platform page: yt-dlp (with cookies, if configured) reads it; a probe without them may be refused.
  if (source.type === 'youtube') {
    return { kind: 'platform', url: source.url, contentType: null, acceptRanges: false, bytes: 0, durationMs: Date.now() - started };
  }

  const { sourceUrl } = await realUrls(deps.clients.s3, config.STAGING_BUCKET, input);
  const { response, url: reached } = await safeFetch(config, sourceUrl, { headers: { range: `bytes=0-${PROBE_BYTES - 1}` } });
  // The checkpoint is state and record: a signed URL there is redacted (the worker then starts again from the real one).
  const url = redactUrl(reached);
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw statusError(response.status, url);
  }
  const contentType = response.headers.get('content-type');
  const bytes = totalSize(response.headers, response.status);
  const head = await readBody(response.body, PROBE_BYTES);
  if (bytes !== undefined) checkBytes(config, bytes, 'source is');
  const checkpoint = {
    url,
    contentType,
    acceptRanges: response.status === 206,
    bytes: bytes ?? 0,
  };
  const kind = sniff(head);
  const done = (k: ClassifyCheckpoint['kind']): ClassifyCheckpoint => ({ kind: k, ...checkpoint, durationMs: Date.now() - started });
  switch (kind) {
    case 'media':
      return done('direct');
    case 'hls':
      await loadHls(config, reached);
      return done('hls');
    case 'dash':
      await loadDash(config, reached);
      return done('dash');
    case 'unknown':
      // Binary without a known signature: only a source that claims to be media goes on to ffprobe.
      if (claimsMedia(contentType, url)) return done('direct');
      throw new UnsupportedSourceError(`unrecognised binary content (${contentType ?? 'no Content-Type'})`);
    case 'markup':
      if (claimsMedia(contentType, url)) throw new NotMediaError('the source claims to be media but its body is an HTML/XML page');
      // A page: yt-dlp's extractors decide in the worker whether it holds media (the generic one last).
      return done('platform');
    case 'text':
      if (claimsMedia(contentType, url)) throw new NotMediaError('the source claims to be media but its body is text');
      throw new UnsupportedSourceError('the source is a text document, not a media file, playlist or web page');
  }
}

/** An object under the tenant's upload prefix: it must exist and look like media. */
async function classifyUpload(tenant: string, url: string, { config, clients }: Deps, started: number): Promise<ClassifyCheckpoint> {
  const { bucket, key } = resolveUpload(url, config.STAGING_BUCKET, tenant);
  const { head, size, contentType } = await uploadHead(clients.s3, bucket, key, PROBE_BYTES);
  checkBytes(config, size, 'the upload is');
  const kind = sniff(head);
  if (kind === 'markup' || kind === 'text') throw new NotMediaError(`the uploaded object is ${kind === 'markup' ? 'an HTML/XML page' : 'text'}, not media`);
  if (kind !== 'media' && !claimsMedia(contentType, key)) {
    throw new UnsupportedSourceError(`the uploaded object is not a media file (${kind === 'unknown' ? 'unrecognised bytes' : `a ${kind.toUpperCase()} manifest`})`);
  }
  return { kind: 'upload', url: `s3://${bucket}/${key}`, contentType, acceptRanges: true, bytes: size, durationMs: Date.now() - started };
}
