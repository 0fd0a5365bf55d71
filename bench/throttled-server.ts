/**
 * A loopback file server that behaves like a CDN edge: each request waits `--latency-ms` before its headers, and each
 * connection is capped at `--rate` bytes per second. Ranges supported; ETag per file. It is the tests' one range server
 * (test/fixtures/server.ts) serving every file under `--dir`, in its own process so it never shares an event loop with
 * the client being measured. Prints its port on stdout.
 * Run: `node --import tsx bench/throttled-server.ts --dir DIR --rate 4000000 --latency-ms 40`.
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../test/fixtures/server.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, rate: { type: 'string', default: '4000000' }, 'latency-ms': { type: 'string', default: '40' } } });
const root = values.dir!;
const TYPES: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.html': 'text/html' };
const contentType = (path: string) => TYPES[extname(path)] ?? 'video/mp4';

const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
const server = await startServer(
  Object.fromEntries(
    files.map((file) => {
      const { size, mtimeMs } = statSync(file);
      const options = { contentType: contentType(file), etag: `"${size}-${Math.round(mtimeMs)}"`, rate: Number(values.rate), latencyMs: Number(values['latency-ms']) };
      return [`/${relative(root, file)}`, { file, ...options }];
    }),
  ),
);
process.stdout.write(`${server.port}\n`);
