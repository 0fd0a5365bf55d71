import type { Config } from '../../../core/config.js';
import { MediaIngestError, SourceUnavailableError, UnsupportedSourceError } from '../../../core/errors.js';
import { bodyError, safeFetch, statusError } from '../../../core/http.js';

/*
 * Every media byte the worker fetches itself (direct parts, segments, init sections, keys) comes through here, checked
 * before it is written: identity encoding, and for a byte range a 206 that carries exactly that range and no byte more.
 */

/** Bytes `start` to `end` of a resource, both included; `of`, the resource's size when a probe told it. */
export interface Span {
  start: number;
  end: number;
  of?: number;
}

/** A server that answered a range with other bytes than asked: worth a new probe (the step's retry), not the same request again. */
export class RangeMismatchError extends SourceUnavailableError {}

/** A failure worth the same request again at once: a cut or refused connection, not a server that mis-answers ranges. */
export const transient = (err: unknown) => err instanceof SourceUnavailableError && !(err instanceof RangeMismatchError);

export interface MediaResponse {
  body: ReadableStream<Uint8Array>;
  url: string;
  /** The bytes the body must hold, when announced (always, for a span). */
  length?: number;
}

/** Host and path of a URL, for messages (never its query). */
export const where = (url: string) => `${new URL(url).host}${new URL(url).pathname}`;

/**
 * GETs a resource, or one span of it, and checks the answer before any byte is read. `ignoredRanges` is what a 200 to
 * a range request means to the caller (a direct file probes again; a byte-range playlist cannot be fetched).
 * `headers` are the ones its server expects besides (a platform format's Referer).
 */
export async function openMedia(
  config: Config,
  rawUrl: string,
  span: Span | undefined,
  signal: AbortSignal,
  ignoredRanges: (url: string) => MediaIngestError,
  headers: Record<string, string> = {},
): Promise<MediaResponse> {
  const { response, url } = await safeFetch(config, rawUrl, { headers: { ...headers, ...(span ? { range: `bytes=${span.start}-${span.end}` } : {}) }, signal });
  const refuse = async (err: MediaIngestError): Promise<never> => {
    await response.body?.cancel().catch(() => undefined);
    throw err;
  };
  if (span && response.status === 200) return refuse(ignoredRanges(url));
  if (response.status !== (span ? 206 : 200) || !response.body) return refuse(statusError(response.status, url));
  // Identity was asked for: an encoded body would be inflated by fetch past every size the server announced.
  const encoding = response.headers.get('content-encoding');
  if (encoding && encoding.trim().toLowerCase() !== 'identity') {
    return refuse(new UnsupportedSourceError(`${where(url)} sent a body with Content-Encoding ${encoding} although only identity was accepted`));
  }
  const declared = response.headers.get('content-length');
  const length = declared === null ? undefined : Number(declared);
  if (!span) return { body: response.body, url, ...(length === undefined ? {} : { length }) };
  const wanted = span.end - span.start + 1;
  const range = response.headers.get('content-range') ?? '';
  if (!range.startsWith(`bytes ${span.start}-${span.end}/`) || (length !== undefined && length !== wanted)) {
    return refuse(new RangeMismatchError(`asked ${where(url)} for bytes ${span.start}-${span.end}; it answered Content-Range "${range}", Content-Length ${declared ?? 'none'}`));
  }
  // Another size is another version of the file (changed since the probe): its bytes must not join the others.
  const total = range.slice(range.indexOf('/') + 1);
  if (span.of !== undefined && total !== '*' && Number(total) !== span.of) {
    return refuse(new RangeMismatchError(`${where(url)} is ${total} bytes long now, ${span.of} when probed: it changed during the download`));
  }
  return { body: response.body, url, length: wanted };
}

const cutShort = (received: number, length: number, cause?: unknown) =>
  new SourceUnavailableError(`the source closed the connection after ${received} of ${length} bytes (Content-Length)`, { cause });

/**
 * Streams a checked answer chunk by chunk into `write`, never past its announced length: a body that runs on (a
 * server sending the file from its start under a right Content-Range) or ends short is SourceUnavailable.
 */
export async function streamBody(media: MediaResponse, write: (chunk: Uint8Array) => Promise<void>): Promise<number> {
  let received = 0;
  let writing = false;
  try {
    for await (const chunk of media.body) {
      if (media.length !== undefined && received + chunk.length > media.length) {
        throw new RangeMismatchError(`${where(media.url)} sent more than the ${media.length} bytes it announced`);
      }
      writing = true;
      await write(chunk);
      writing = false;
      received += chunk.length;
    }
  } catch (err) {
    // Our own refusals (the budget's TooLarge) and the disk's errors are not the source's.
    if (err instanceof MediaIngestError || writing) throw err;
    const failure = bodyError(err, media.url);
    // Say what a lying or cut connection did, rather than the socket's words.
    throw failure instanceof SourceUnavailableError && media.length !== undefined ? cutShort(received, media.length, err) : failure;
  }
  if (media.length !== undefined && received !== media.length) throw cutShort(received, media.length);
  return received;
}
