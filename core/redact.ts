/** What replaces a secret: userinfo and the values of signature-like query parameters. */
export const REDACTED = 'REDACTED';

/**
 * Query parameter names (compared lower-case) whose values are credentials: presigned S3 / CloudFront / GCS URLs,
 * tokens and keys of every common spelling.
 */
const SECRET_PARAMS = new Set([
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'signature',
  'policy',
  'key-pair-id',
  'x-goog-signature',
  'x-goog-credential',
  'token',
  'sig',
  'key',
  'auth',
  'password',
  'passwd',
  'pass',
  'pwd',
  'secret',
  'client_secret',
  'access_token',
  'refresh_token',
  'id_token',
  'auth_token',
  'api_key',
  'apikey',
  'api-key',
  'access_key',
  'secret_key',
  'session_token',
  'authorization',
  'credential',
  'credentials',
]);

/** Whether a query parameter's value is a secret (case-insensitive). */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAMS.has(name.toLowerCase());
}

/**
 * A URL as it may be stored, logged or called back: userinfo replaced by `REDACTED` and the values of secret query
 * parameters replaced by `REDACTED`; everything else (host, path, other parameters and their order) kept.
 * Not a URL: returned as `redactText` leaves it.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return redactText(raw);
  }
  let changed = false;
  if (url.username || url.password) {
    url.username = REDACTED;
    url.password = '';
    changed = true;
  }
  // Rebuilt by hand so untouched parameters keep their exact spelling (URLSearchParams would re-encode them).
  if (url.search.length > 1) {
    const parts = url.search.slice(1).split('&').map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judge the name as written
      }
      if (!isSecretParam(decoded)) return pair;
      changed = true;
      return `${name}=${REDACTED}`;
    });
    url.search = `?${parts.join('&')}`;
  }
  // A URL with nothing to hide is returned exactly as given (no normalisation of what callers compare).
  return changed ? url.toString() : raw;
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
const PARAM_NAMES = [...SECRET_PARAMS].map((n) => n.replace(/[-]/g, '\\-')).join('|');
const PARAM_IN_TEXT = new RegExp(`([?&;](?:${PARAM_NAMES})=)[^&\\s"'<>#\`]*`, 'gi');
const USERINFO_IN_TEXT = /(\/\/)[^/?#\s@"'<>`]+@/g;

/** Free text (an error message, a tool's stderr line, a log field) with every URL in it redacted. */
export function redactText(text: string): string {
  return text
    .replace(URL_IN_TEXT, (match) => {
      // Trailing punctuation belongs to the sentence, not the URL.
      const [, body = match, tail = ''] = /^(.*?)([.,;:)\]}]*)$/s.exec(match) ?? [];
      return redactUrlStrict(body) + tail;
    })
    .replace(PARAM_IN_TEXT, `$1${REDACTED}`)
    .replace(USERINFO_IN_TEXT, `$1${REDACTED}@`);
}

/** redactUrl without the text fallback (which would recurse). */
function redactUrlStrict(raw: string): string {
  return URL.canParse(raw) ? redactUrl(raw) : raw;
}

/** Whether a URL had something redacted: the real one must then come from where start-job kept it. */
export function isRedacted(url: string): boolean {
  return url.includes(REDACTED);
}

/** A JSON-like value with every string in it passed through `redactText` (for log fields and stored documents). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
