import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type EgressProxy, proxyEnv, startEgressProxy } from '../../core/egress-proxy.js';
import { makeClip } from '../fixtures/media.js';
import { withScratch } from '../fixtures/runtime.js';
import type { ForbiddenServer, TestServer } from '../fixtures/server.js';

const run = promisify(execFile);
let origin: TestServer;
let forbidden: ForbiddenServer;
let proxy: EgressProxy;

async function tool(file: string, args: string[], env: Record<string, string> = {}): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { env: { ...process.env, ...env }, timeout: 60_000, cwd: scratch.dir });
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const scratch = withScratch('proxy', {
  setup: async ({ dir, serve, forbidden: refused, atEnd }) => {
    forbidden = await refused();
    origin = await serve({
      '/clip.mp4': { file: makeClip(dir, 'clip.mp4', { seconds: 1 }) },
      '/escape.mp4': { status: 302, headers: { location: `${forbidden.url}/clip.mp4` } },
    });
    proxy = await startEgressProxy({ allowHosts: ['127.0.0.1'] });
    atEnd(() => proxy.close());
  },
});

afterEach(() => expect(forbidden.hits()).toBe(0));

const probe = (url: string) =>
  tool('ffprobe', ['-v', 'error', '-protocol_whitelist', 'http,https,tcp,tls,httpproxy', '-show_entries', 'format=duration', '-of', 'csv=p=0', url], proxyEnv(proxy));

describe('the egress proxy the media tools go through', () => {
  it('lets ffprobe read an allowlisted source', async () => {
    const { ok, out } = await probe(origin.url('/clip.mp4'));
    expect(ok).toBe(true);
    expect(Number(out.trim())).toBeCloseTo(1, 0);
  });

  it('refuses ffprobe a refused address, with not a byte reaching it', async () => {
    const before = proxy.refusals.length;
    expect((await probe(`${forbidden.url}/clip.mp4`)).ok).toBe(false);
    expect(proxy.refusals.length).toBe(before + 1);
    expect(proxy.refusals.at(-1)).toContain('loopback');
  });

  it("refuses the redirect hop ffprobe follows from an allowlisted host to a refused one", async () => {
    expect((await probe(origin.url('/escape.mp4'))).ok).toBe(false);
    expect(proxy.refusals.at(-1)).toContain('127.0.0.2');
  });

  it('refuses aria2c', async () => {
    const { ok } = await tool('aria2c', ['--all-proxy', proxy.url, '--max-tries=1', '--dir', scratch.dir, '-o', 'a.mp4', `${forbidden.url}/clip.mp4`]);
    expect(ok).toBe(false);
  });

  it('refuses yt-dlp', async () => {
    const { ok } = await tool('yt-dlp', ['--proxy', proxy.url, '--retries', '0', '--no-playlist', '-o', join(scratch.dir, 'y.%(ext)s'), `${forbidden.url}/clip.mp4`]);
    expect(ok).toBe(false);
  });

  it('refuses a CONNECT tunnel to a refused address and to the metadata address', async () => {
    for (const target of [`${forbidden.url}/`, 'http://169.254.169.254/latest/meta-data/']) {
      const { out } = await tool('curl', ['-sS', '-p', '-x', proxy.url, '--max-time', '10', '-o', '/dev/null', '-w', '%{http_connect}', target]);
      expect(out).toContain('403');
    }
  });

  it('refuses any scheme other than http and https', async () => {
    const res = await fetch(`${proxy.url}/`, { method: 'GET', headers: { host: 'x' } });
    expect(res.status).toBe(403);
  });
});
