import { createDecipheriv } from 'node:crypto';
import { ExtractionFailedError, UnsupportedSourceError } from '../../../core/errors.js';

/** An AES-128 key is 16 bytes, whatever the server sent. */
const AES_128_KEY_BYTES = 16;

/** Decrypts one segment as it streams: `update` for each chunk, `final` at its end. */
export interface SegmentDecipher {
  update(chunk: Uint8Array): Buffer;
  final(): Buffer;
}

/**
 * An AES-128-CBC decipher for one HLS segment. A key that is no AES-128 key is the source's fault (UnsupportedSource);
 * a segment its key does not decrypt (a wrong key, a corrupt segment) fails the extraction (ExtractionFailed).
 */
export function segmentDecipher(key: Buffer, iv: Buffer, keyUrl: string): SegmentDecipher {
  if (key.length !== AES_128_KEY_BYTES) {
    throw new UnsupportedSourceError(`the AES-128 key at ${keyUrl} is ${key.length} bytes; AES-128 needs ${AES_128_KEY_BYTES}`);
  }
  const decipher = createDecipheriv('aes-128-cbc', key, iv);
  const failed = (err: unknown) =>
    new ExtractionFailedError(`a segment does not decrypt with the AES-128 key at ${keyUrl} (a wrong key or a corrupt segment): ${(err as Error).message}`, { cause: err });
  return {
    update: (chunk) => decipher.update(chunk),
    final: () => {
      try {
        return decipher.final();
      } catch (err) {
        throw failed(err);
      }
    },
  };
}
