import { redactText, redactUrl } from './redact.js';

/** Source metadata (titles, tags, a caller's `source.metadata`) made safe to store and show. */
const MAX_TEXT = 512;
const MAX_KEYS = 64;
const MAX_ITEMS = 100;
const MAX_DEPTH = 4;

/** Secrets in URLs redacted, control and invisible format characters out, path separators neutralised, whitespace folded, length capped. */
export function sanitiseText(value: string, max = MAX_TEXT): string {
  const clean = redactText(value)
    .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
    .replace(/[/\\]/g, '_')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...clean];
  return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : clean;
}

/** An http(s) URL kept as it is (text sanitising would mangle it) but for its secrets; anything else is dropped. */
export function sanitiseUrl(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 4096 || !URL.canParse(value)) return null;
  const url = new URL(value);
  return url.protocol === 'http:' || url.protocol === 'https:' ? redactUrl(url.toString()) : null;
}

function sanitiseKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}

/** Any JSON-ish value, bounded in depth, width and string length; what is not plain data is dropped. */
export function sanitiseMetadata(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return sanitiseText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean' || value === null) return value;
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((v) => sanitiseMetadata(v, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, MAX_KEYS)) {
      const clean = sanitiseMetadata(v, depth + 1);
      if (clean !== undefined) out[sanitiseKey(k)] = clean;
    }
    return out;
  }
  return undefined;
}
