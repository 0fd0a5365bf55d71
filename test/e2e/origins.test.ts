import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectCopiedSource, runToEnd } from '../fixtures/jobs.js';
import { dash, ff, hls, keyframedClip } from '../fixtures/media.js';
import { type Origin, startNginx, startPythonServer } from '../fixtures/origins.js';
import { withRuntime } from '../fixtures/runtime.js';

const SECONDS = 8;
const origins: Record<string, Origin> = {};

/** Every source kind, served by servers no one here wrote: Python's `http.server` (the README's example) and nginx. */
const fx = withRuntime('origins', {
  timeoutMs: 60_000,
  setup: async ({ dir, atEnd }) => {
    const root = join(dir, 'www');
    mkdirSync(root);
    const clip = keyframedClip(join(dir, 'clip.mp4'), SECONDS);
    // A file of several MiB, so bodies are read under backpressure while the server closes (undici#5360's crash).
    ff('-f', 'lavfi', '-i', `testsrc2=duration=${SECONDS}:size=640x480:rate=25`, '-f', 'lavfi', '-i', `sine=duration=${SECONDS}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '6M', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest',
      '-movflags', '+faststart', join(root, 'clip.mp4'));
    hls(clip, join(root, 'hls'));
    dash(clip, join(root, 'dash'), '-use_template', '1', '-use_timeline', '0');
    // A CGI script's answer has no Content-Length: Python's server sends it as HTTP/1.0 and ends it by closing.
    mkdirSync(join(root, 'cgi-bin'));
    writeFileSync(join(root, 'cgi-bin', 'clip.sh'), `#!/bin/sh\nprintf 'Content-Type: video/mp4\\r\\n\\r\\n'\nexec cat '${join(root, 'clip.mp4')}'\n`);
    chmodSync(join(root, 'cgi-bin', 'clip.sh'), 0o755);
    // Run as root, Python's CGI handler drops to `nobody` before it runs a script: the folder must be theirs to read.
    chmodSync(dir, 0o755);
    origins.python = await startPythonServer(root, { cgi: true });
    origins.nginx = await startNginx(root, join(dir, 'nginx'), { rate: '4m' });
    // Two answers per connection, then `Connection: close` in the middle of a download's keep-alive requests.
    origins.closing = await startNginx(root, join(dir, 'nginx-closing'), { keepaliveRequests: 2 });
    for (const origin of Object.values(origins)) atEnd(() => origin.close());
  },
});

const run = (origin: string, path: string) =>
  runToEnd(fx.runtime, { source: { type: 'http', url: origins[origin]!.url(path) } }, join(fx.dir, 'out'));

/** Lines the workers wrote to stderr beyond their JSON logs: a crash's stack trace, an assertion. */
function workerCrashes(): string[] {
  const logs = join(fx.runtime.dataDir, 'logs');
  return readdirSync(logs)
    .filter((f) => /^worker-\d+\.log$/.test(f))
    .flatMap((f) => readFileSync(join(logs, f), 'utf8').split('\n'))
    .filter((line) => /AssertionError|ERR_ASSERTION|uncaught|Unhandled/i.test(line));
}

describe.each(['python', 'nginx'])('served by %s', (origin) => {
  it.each([
    ['a direct MP4', '/clip.mp4', 'direct'],
    ['an HLS playlist', '/hls/index.m3u8', 'hls'],
    ['a DASH manifest', '/dash/manifest.mpd', 'dash'],
  ])('%s becomes the source, copied, with no worker crash', async (_what, path, kind) => {
    const result = await run(origin, path);
    await expectCopiedSource(result, kind, SECONDS);
    if (kind === 'direct') expect(result.record.checkpoints.extract).toMatchObject({ source: { bytes: readFileSync(join(fx.dir, 'www', 'clip.mp4')).length } });
    expect(workerCrashes()).toEqual([]);
  }, 120_000);
});

describe('what real servers do to a body', () => {
  it('reads an HTTP/1.0 answer without Content-Length to the end of its connection', async () => {
    const result = await run('python', '/cgi-bin/clip.sh');
    await expectCopiedSource(result, 'direct', SECONDS);
    expect(result.record.checkpoints.extract).toMatchObject({ source: { bytes: readFileSync(join(fx.dir, 'www', 'clip.mp4')).length } });
  }, 120_000);

  it('reads a chunked body with a trailer', async () => {
    const result = await run('nginx', '/chunked/clip.mp4');
    await expectCopiedSource(result, 'direct', SECONDS);
  }, 120_000);

  it.each([
    ['ranges of a direct file', '/clip.mp4', 'direct'],
    ['HLS segments', '/hls/index.m3u8', 'hls'],
  ])('goes on when the server closes a keep-alive connection every second answer (%s)', async (_what, path, kind) => {
    await expectCopiedSource(await run('closing', path), kind, SECONDS);
    expect(workerCrashes()).toEqual([]);
  }, 120_000);
});
