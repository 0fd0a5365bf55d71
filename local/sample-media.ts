import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface ClipOptions {
  seconds?: number;
  width?: number;
  height?: number;
  /** A sine tone of this frequency as the audio track. */
  toneHz?: number;
  /** Speech (flite, voice rms) instead of a tone; the clip lasts as long as the speech. */
  speech?: string;
  audio?: boolean;
}

const quiet = ['-hide_banner', '-loglevel', 'error', '-y'];

/** An MP4 (H.264 test pattern + AAC tone or speech) made by ffmpeg: sample media is made, never shipped. */
export function makeClip(dir: string, name = 'clip.mp4', options: ClipOptions = {}): string {
  const { seconds = 3, width = 320, height = 240, toneHz = 440, audio = true, speech } = options;
  mkdirSync(dir, { recursive: true });
  const out = join(dir, name);
  const inputs = ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=25${speech ? '' : `:duration=${seconds}`}`];
  if (speech) {
    const wav = join(dir, `${name}.speech.wav`);
    execFileSync('flite', ['-voice', 'rms', '-t', speech, '-o', wav]);
    inputs.push('-i', wav);
  } else if (audio) {
    inputs.push('-f', 'lavfi', '-i', `sine=frequency=${toneHz}:duration=${seconds}:sample_rate=48000`);
  }
  const withAudio = audio || speech !== undefined;
  const codecs = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', ...(withAudio ? ['-c:a', 'aac', '-b:a', '96k'] : [])];
  execFileSync('ffmpeg', [...quiet, ...inputs, ...codecs, '-shortest', '-movflags', '+faststart', out]);
  return out;
}

/** Serves one file with Range support, as a CDN would: the demo's source. */
export function serveFile(req: IncomingMessage, res: ServerResponse, file: string, contentType = 'video/mp4', ranges = true): void {
  const size = statSync(file).size;
  const range = ranges ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') : null;
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-type': contentType,
      'content-length': end - start + 1,
      'content-range': `bytes ${start}-${end}/${size}`,
      'accept-ranges': 'bytes',
    });
    createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { 'content-type': contentType, 'content-length': size, ...(ranges ? { 'accept-ranges': 'bytes' } : {}) });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/** A loopback server for one file at `/<name>`. */
export async function serveSample(file: string, name: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === `/${name}`) serveFile(req, res, file);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}`, server };
}
