import { createDecipheriv } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { SourceUnavailableError, TooLargeError, UnsupportedSourceError } from '../../../core/errors.js';
import { bodyError, safeFetch, statusError } from '../../../core/http.js';
import { type HlsSegment, loadHls } from '../../../core/playlist.js';
import type { StepContext } from '../context.js';
import type { PartStore } from '../parts.js';
import { ffmpeg } from '../tools/ffmpeg.js';
import { inLanes } from './download.js';

const SEGMENT_ATTEMPTS = 3;

/** One resource (segment, key, init section) through the egress policy, whole, retried when the connection fails. */
async function fetchBytes(
  ctx: StepContext,
  url: string,
  range: { offset: number; length: number } | undefined,
  signal: AbortSignal,
  count: (n: number) => void,
): Promise<Buffer> {
  const headers: Record<string, string> = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {};
  for (let attempt = 1; ; attempt++) {
    try {
      const { response, url: at } = await safeFetch(ctx.config, url, { headers, signal });
      if (response.status !== 200 && response.status !== 206) {
        await response.body?.cancel();
        throw statusError(response.status, at);
      }
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of response.body ?? []) {
          chunks.push(Buffer.from(chunk));
          count(chunk.length);
        }
      } catch (err) {
        if (err instanceof TooLargeError) throw err;
        throw bodyError(err, at);
      }
      return Buffer.concat(chunks);
    } catch (err) {
      if (!(err instanceof SourceUnavailableError) || attempt >= SEGMENT_ATTEMPTS) throw err;
      await sleep(200 * attempt);
    }
  }
}

/**
 * Fetches an HLS stream into `dest` without re-encoding: segments in parallel (each kept in the part store, so a
 * retried worker fetches only the missing ones), AES-128 decrypted, fMP4 segments behind their init section, TS
 * segments joined by ffmpeg's concat demuxer (which also carries timestamps across discontinuities).
 */
export async function downloadHls(ctx: StepContext, url: string, dest: string, store?: PartStore): Promise<number> {
  const playlist = await loadHls(ctx.config, url);
  const { segments } = playlist;
  if (!segments.length) throw new UnsupportedSourceError('the playlist has no segments');
  const methods = new Set(segments.map((s) => s.key?.method).filter(Boolean));
  if ([...methods].some((m) => m !== 'AES-128')) throw new UnsupportedSourceError(`segments encrypted with ${[...methods].join(', ')} are not supported`);
  const maps = new Set(segments.map((s) => s.map?.uri ?? ''));
  if (maps.size > 1) throw new UnsupportedSourceError('the playlist changes its initialisation section mid-stream');

  const max = ctx.config.MEDIA_INGEST_MAX_BYTES;
  // The same whole-download deadline as a direct file, on top of the per-read idle timeout.
  const signal = AbortSignal.timeout(ctx.config.MEDIA_INGEST_TOTAL_TIMEOUT_MS);
  let received = 0;
  const count = (n: number) => {
    received += n;
    if (received > max) throw new TooLargeError(`source exceeded the limit of ${max} bytes while downloading`);
  };
  const keys = new Map<string, Promise<Buffer>>();
  const keyFor = (s: HlsSegment) => {
    const uri = s.key!.uri!;
    if (!keys.has(uri)) keys.set(uri, fetchBytes(ctx, uri, undefined, signal, () => undefined));
    return keys.get(uri)!;
  };

  const dir = join(ctx.scratch, 'segments');
  await mkdir(dir, { recursive: true });
  const paths = segments.map((_, i) => join(dir, `${String(i).padStart(6, '0')}.seg`));
  const kept = (await store?.list()) ?? new Map<number, number>();
  await inLanes([...segments.keys()], ctx.input.options.connections, async (i) => {
    const segment = segments[i]!;
    if (store && kept.has(i)) {
      const file = await open(paths[i]!, 'w');
      try {
        count(await store.restore(i, file, 0));
      } finally {
        await file.close();
      }
    } else {
      let data = await fetchBytes(ctx, segment.uri, segment.byterange, signal, count);
      if (segment.key) {
        const decipher = createDecipheriv('aes-128-cbc', await keyFor(segment), segment.key.iv!);
        data = Buffer.concat([decipher.update(data), decipher.final()]);
      }
      await writeFile(paths[i]!, data);
      await store?.save(i, paths[i]!, 0, data.length - 1);
    }
    ctx.progress(received, undefined);
  });

  const init = segments[0]!.map;
  if (init) {
    // Fragmented MP4: the init section followed by the fragments is itself a valid file.
    await writeFile(dest, await fetchBytes(ctx, init.uri, init.byterange, signal, count));
    const out = createWriteStream(dest, { flags: 'a' });
    for (const path of paths) await pipeline(createReadStream(path), out, { end: false });
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } else {
    const list = join(dir, 'list.txt');
    await writeFile(list, paths.map((p) => `file '${p}'`).join('\n') + '\n');
    await ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', '-f', 'mpegts', dest], ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS);
  }
  return received;
}
