import { claimsMedia, sniff } from '../../../core/sniff.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);

describe('sniffing the first bytes', () => {
  it.each([
    ['an MP4', bytes(0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d), 'media'],
    ['a WebM', bytes(0x1a, 0x45, 0xdf, 0xa3, 1, 0, 0, 0), 'media'],
    ['an MP3 with ID3', text('ID3\u0004\u0000'), 'media'],
    ['an HLS playlist', text('#EXTM3U\n#EXT-X-VERSION:3\n'), 'hls'],
    ['a DASH manifest', text('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">'), 'dash'],
    ['a DASH manifest behind a comment longer than the text the sniff reads', text(`<!-- ${'é'.repeat(1500)} -->\n<MPD type="static">`), 'dash'],
    ['a DASH manifest after a prologue, in lower case', text('some words first\n<mpd>'), 'dash'],
    ['an HTML page', text('<!DOCTYPE html><html><body>404</body></html>'), 'markup'],
    ['a JSON error', text('{"error":"not found"}'), 'text'],
  ])('recognises %s', (_name, head, kind) => {
    expect(sniff(head)).toBe(kind);
  });

  it('takes a media Content-Type or extension as a claim to be media', () => {
    expect(claimsMedia('video/mp4', 'https://x/y')).toBe(true);
    expect(claimsMedia('text/html', 'https://x/y.mp4')).toBe(true);
    expect(claimsMedia('text/html; charset=utf-8', 'https://x/page')).toBe(false);
  });
});
