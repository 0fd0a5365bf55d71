import { open, rm, stat } from 'node:fs/promises';
import { sniff } from '../../../core/sniff.js';
import { NotMediaError } from '../../../core/errors.js';
import { checkDuration as checkSeconds } from '../../../core/limits.js';
import { durationOf, ffprobe, hasStream, type Probe } from '../tools/ffmpeg.js';
import { asStepError } from '../tools/run.js';

async function head(path: string, bytes: number): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await file.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

const NOT_MEDIA = { markup: 'an HTML/XML page', text: 'text', hls: 'an HLS playlist', dash: 'a DASH manifest' } as const;

/** TooLarge when the media lasts longer than allowed. */
export function checkDuration(probe: Probe, maxDurationSeconds: number): void {
  checkSeconds(maxDurationSeconds, durationOf(probe));
}

/**
 * A downloaded file is media only if it is big enough, is not an error page, a playlist or a manifest whatever its
 * Content-Type said, and ffprobe, opening it as a media container only, finds an audio or video stream in it.
 * An invalid file is deleted before the error is raised.
 */
export async function validateMedia(path: string, limits: { minBytes: number; maxDurationSeconds: number; timeoutMs: number }): Promise<Probe> {
  const { minBytes, maxDurationSeconds, timeoutMs } = limits;
  try {
    const { size } = await stat(path);
    if (size < minBytes) throw new NotMediaError(`the download is ${size} bytes; media must be at least ${minBytes}`);
    const kind = sniff(await head(path, 4096));
    if (kind !== 'media' && kind !== 'unknown') throw new NotMediaError(`the download is ${NOT_MEDIA[kind]}, not media`);
    const probe = await asStepError(NotMediaError, () => 'ffprobe cannot read the download as media', () => ffprobe(path, timeoutMs));
    if (!hasStream(probe, 'video') && !hasStream(probe, 'audio')) {
      throw new NotMediaError('the download has no audio or video stream');
    }
    checkDuration(probe, maxDurationSeconds);
    return probe;
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}
