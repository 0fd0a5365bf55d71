import { isRedacted, REDACTED, redactDeep, redactText, redactUrl } from '../../../core/redact.js';

const SECRET_PARAMS = [
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'Signature',
  'Policy',
  'Key-Pair-Id',
  'X-Goog-Signature',
  'X-Goog-Credential',
  'token',
  'sig',
  'key',
  'auth',
  'password',
  'access_token',
  'api_key',
  'secret',
];

describe('redactUrl', () => {
  it.each(SECRET_PARAMS)('replaces the value of %s, in any case', (name) => {
    for (const spelling of [name, name.toLowerCase(), name.toUpperCase()]) {
      const out = redactUrl(`https://cdn.example/v.mp4?${spelling}=s3cr3t-value&quality=hd`);
      expect(out).toBe(`https://cdn.example/v.mp4?${spelling}=${REDACTED}&quality=hd`);
      expect(out).not.toContain('s3cr3t-value');
    }
  });

  it('replaces userinfo, a password or a bare user', () => {
    expect(redactUrl('http://alice:s3cret@host.example:8080/a.mp4')).toBe(`http://${REDACTED}@host.example:8080/a.mp4`);
    expect(redactUrl('https://ghp_tokenvalue@host.example/a.mp4')).toBe(`https://${REDACTED}@host.example/a.mp4`);
  });

  it('keeps what is not secret exactly as given: host, path, other parameters, their order and encoding, the fragment', () => {
    const plain = 'https://host.example/a%20b/v.mp4?quality=hd&lang=en&t=10&q=a+b#t=5';
    expect(redactUrl(plain)).toBe(plain);
    expect(redactUrl('https://host.example/v.mp4?b=2&Signature=x&a=1#f')).toBe(`https://host.example/v.mp4?b=2&Signature=${REDACTED}&a=1#f`);
  });

  it('redacts a presigned S3 URL completely, and is idempotent', () => {
    const signed =
      'https://bucket.s3.amazonaws.com/k.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FwoGZX&X-Amz-Signature=abcdef0123';
    const out = redactUrl(signed);
    for (const secret of ['AKIAEXAMPLE', 'FwoGZX', 'abcdef0123']) expect(out).not.toContain(secret);
    expect(out).toContain('X-Amz-Date=20240101T000000Z');
    expect(redactUrl(out)).toBe(out);
    expect(isRedacted(out)).toBe(true);
    expect(isRedacted('https://host.example/a.mp4?x=1')).toBe(false);
  });

  it('redacts a parameter whose name is percent-encoded', () => {
    expect(redactUrl('https://h.example/a?%74oken=abc')).toBe(`https://h.example/a?%74oken=${REDACTED}`);
  });
});

describe('redactText', () => {
  it('redacts every URL inside a message or a tool stderr line, keeping the sentence around it', () => {
    const line = "[http @ 0x55] HTTP error 403 opening 'http://bob:pw123@h.example/x.m3u8?token=tk999&n=1', retrying.";
    expect(redactText(line)).toBe(`[http @ 0x55] HTTP error 403 opening 'http://${REDACTED}@h.example/x.m3u8?token=${REDACTED}&n=1', retrying.`);
  });

  it('redacts secret parameters and userinfo even where the scheme is missing', () => {
    const out = redactText('GET /seg1.ts?Policy=pol123&Key-Pair-Id=kp456 from //carol:pw789@h.example/');
    for (const secret of ['pol123', 'kp456', 'pw789']) expect(out).not.toContain(secret);
  });

  it('leaves text without secrets alone', () => {
    const text = 'source not found (HTTP 404): 127.0.0.1:8080/missing.mp4 keyframe=1 tokens';
    expect(redactText(text)).toBe(text);
  });

  it('redactDeep redacts every string of a JSON document', () => {
    expect(redactDeep({ a: ['http://u:p@h.example/?sig=1'], b: { c: 2, d: 'x' } })).toEqual({ a: [`http://${REDACTED}@h.example/?sig=${REDACTED}`], b: { c: 2, d: 'x' } });
  });
});
