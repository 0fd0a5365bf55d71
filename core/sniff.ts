/** What the first bytes of a body say it is, whatever its Content-Type claims. */
export type Sniffed = 'media' | 'hls' | 'dash' | 'markup' | 'text' | 'unknown';

const MEDIA_SIGNATURES: Array<[offset: number, bytes: number[]]> = [
  [4, [0x66, 0x74, 0x79, 0x70]], // ISO BMFF ftyp (mp4, m4a, mov, 3gp)
  [4, [0x6d, 0x6f, 0x6f, 0x76]], // moov first (old QuickTime)
  [0, [0x1a, 0x45, 0xdf, 0xa3]], // EBML (mkv, webm)
  [0, [0x52, 0x49, 0x46, 0x46]], // RIFF (wav, avi)
  [0, [0x49, 0x44, 0x33]], // ID3 (mp3)
  [0, [0x4f, 0x67, 0x67, 0x53]], // OggS
  [0, [0x66, 0x4c, 0x61, 0x43]], // fLaC
  [0, [0x46, 0x4c, 0x56]], // FLV
  [0, [0x30, 0x26, 0xb2, 0x75]], // ASF (wmv)
  [0, [0x00, 0x00, 0x01, 0xba]], // MPEG program stream
];

function startsWith(buf: Uint8Array, offset: number, bytes: number[]): boolean {
  return buf.length >= offset + bytes.length && bytes.every((b, i) => buf[offset + i] === b);
}

export function sniff(head: Uint8Array): Sniffed {
  if (MEDIA_SIGNATURES.some(([offset, bytes]) => startsWith(head, offset, bytes))) return 'media';
  // MPEG-TS: a sync byte every 188 bytes.
  if (head.length >= 377 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) return 'media';
  // MPEG audio frame sync or ADTS AAC.
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0) return 'media';
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(head);
  const text = decoded.slice(0, 1024).replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('#EXTM3U')) return 'hls';
  // As ffmpeg's own DASH probe does: `<MPD` anywhere, whatever comes before it (a long comment, a prologue).
  if (/<MPD[\s>]/i.test(decoded)) return 'dash';
  if (/^<(!doctype|html|head|body|\?xml|svg|div|p|script)/i.test(text)) return 'markup';
  const printable = [...head.subarray(0, 512)].filter((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127)).length;
  if (head.length > 0 && printable / Math.min(head.length, 512) > 0.95) return 'text';
  return 'unknown';
}

const MEDIA_EXTENSIONS = /\.(mp4|m4v|m4a|mov|mkv|webm|avi|wmv|flv|ts|mts|mp3|aac|wav|flac|ogg|oga|opus|3gp)$/i;

/** Whether the response claims to be media by its type or the URL's file extension. */
export function claimsMedia(contentType: string | null, url: string): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type.startsWith('video/') || type.startsWith('audio/') || MEDIA_EXTENSIONS.test(new URL(url).pathname);
}
