import type { Config } from '../../core/config.js';
import { checkUrl } from '../../core/egress.js';
import { InvalidRequestError, NotMediaError, TooLargeError, UnsupportedSourceError } from '../../core/errors.js';
import { policyOf, safeFetch, statusError } from '../../core/http.js';
import { type ClassifyCheckpoint, describeZodError, ExecutionInputSchema } from '../../core/job.js';
import { loadHls } from '../../core/playlist.js';
import { claimsMedia, sniff } from '../../core/sniff.js';

const PROBE_BYTES = 4096;

/** Reads at most `limit` bytes of a body, then lets the connection go. */
async function readHead(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  while (size < limit) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, limit);
}

/** Total size from `Content-Range: bytes 0-4095/12345`, or from Content-Length on a 200. */
function totalSize(headers: Headers, status: number): number | undefined {
  const range = headers.get('content-range')?.match(/\/(\d+)$/);
  if (status === 206 && range) return Number(range[1]);
  const length = headers.get('content-length');
  return status === 200 && length !== null ? Number(length) : undefined;
}

/** Decides the kind of a source by probing it: status, headers and the first bytes, not the extension alone. */
export async function classify(event: unknown, config: Config): Promise<ClassifyCheckpoint> {
  const started = Date.now();
  const parsed = ExecutionInputSchema.safeParse(event);
  if (!parsed.success) throw new InvalidRequestError(describeZodError(parsed.error));
  const { source } = parsed.data.request;
  if (source.type === 'upload') throw new UnsupportedSourceError('uploaded sources are not supported yet');
  checkUrl(policyOf(config), source.url);

  const { response, url } = await safeFetch(config, source.url, { headers: { range: `bytes=0-${PROBE_BYTES - 1}` } });
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw statusError(response.status, url);
  }
  const contentType = response.headers.get('content-type');
  const bytes = totalSize(response.headers, response.status);
  const head = await readHead(response.body, PROBE_BYTES);
  if (bytes !== undefined && bytes > config.MEDIA_INGEST_MAX_BYTES) {
    throw new TooLargeError(`source is ${bytes} bytes; the limit is ${config.MEDIA_INGEST_MAX_BYTES}`);
  }
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
      await loadHls(config, url);
      return done('hls');
    case 'dash':
      return done('dash');
    case 'unknown':
      // Binary without a known signature: only a source that claims to be media goes on to ffprobe.
      if (claimsMedia(contentType, url)) return done('direct');
      throw new UnsupportedSourceError(`unrecognised binary content (${contentType ?? 'no Content-Type'})`);
    case 'markup':
    case 'text':
      if (claimsMedia(contentType, url)) {
        throw new NotMediaError(`the source claims to be media but its body is ${kind === 'markup' ? 'an HTML/XML page' : 'text'}`);
      }
      throw new UnsupportedSourceError(`the source is a ${kind === 'markup' ? 'web page' : 'text document'}, not a media file or playlist`);
  }
}
