/**
 * A loopback file server that behaves like a CDN edge: each request waits `--latency-ms` before its headers, and each
 * connection is capped at `--rate` bytes per second. Ranges supported; ETag per file. Runs in its own process so it
 * never shares an event loop with the client being measured. Prints its port on stdout.
 * Run: `node --import tsx bench/throttled-server.ts --dir DIR --rate 4000000 --latency-ms 40`.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { dir: { type: 'string' }, rate: { type: 'string', default: '4000000' }, 'latency-ms': { type: 'string', default: '40' } } });
const root = values.dir!;
const rate = Number(values.rate);
const latency = Number(values['latency-ms']);

const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  let size: number;
  let mtime: number;
  try {
    ({ size, mtimeMs: mtime } = statSync(join(root, path)));
  } catch {
    setTimeout(() => res.writeHead(404).end(), latency);
    return;
  }
  const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  const end = m && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  const type = path.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : path.endsWith('.ts') ? 'video/mp2t' : 'video/mp4';
  setTimeout(() => {
    res.writeHead(m ? 206 : 200, {
      'content-type': type,
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
      etag: `"${size}-${Math.round(mtime)}"`,
      ...(m ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    // The connection's budget: `rate` bytes per second since its response began.
    const began = Date.now();
    let sent = 0;
    const stream = createReadStream(join(root, path), { start, end, highWaterMark: 64 * 1024 });
    stream.on('data', (chunk) => {
      sent += chunk.length;
      const ahead = sent / rate - (Date.now() - began) / 1000;
      const drained = res.write(chunk);
      if (ahead > 0 || !drained) {
        stream.pause();
        const resume = () => setTimeout(() => stream.resume(), Math.max(0, ahead * 1000));
        if (drained) resume();
        else res.once('drain', resume);
      }
    });
    stream.on('end', () => res.end());
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
  }, latency);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
