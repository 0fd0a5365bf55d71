/**
 * The extract step's download, alone in a process so its peak memory can be read: a direct file by parallel ranges
 * (the worker's own probe first) or an HLS playlist by parallel segments, joined. No part store (staging) is used.
 * bench/download bundles it with esbuild as the worker image does and runs it: `node runner.mjs direct|hls URL DEST_DIR CONNECTIONS`;
 * it prints one JSON line.
 */
import { FileCache } from '../containers/media-worker/cache.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setUp } from '../core/component.js';
import type { ExecutionInput } from '../core/job.js';
import { probeRanges } from '../core/http.js';
import { loadHls } from '../core/playlist.js';
import type { StepContext } from '../containers/media-worker/context.js';
import { downloadDirect } from '../containers/media-worker/sources/direct.js';
import { budget, downloadTracks } from '../containers/media-worker/sources/segments.js';

const [kind, url, destDir, connections] = process.argv.slice(2) as [string, string, string, string];
const { config, clients } = setUp('worker', { ...process.env, JOBS_TABLE: 'unused', STAGING_BUCKET: 'unused', MEDIA_INGEST_ALLOW_HOSTS: '127.0.0.1', MEDIA_INGEST_MAX_CONNECTIONS_PER_HOST: connections });
const scratch = join(destDir, 'scratch');
mkdirSync(scratch, { recursive: true });
const ctx: StepContext = {
  step: 'extract',
  input: { tenant: 'bench', jobId: 'bench', request: { source: { type: 'http', url }, actions: ['download'] }, options: { connections: Number(connections) }, checkpoints: {} } as ExecutionInput,
  config,
  scratch,
  stagingBucket: 'unused',
  s3: clients.s3,
  jobs: { db: clients.db, name: 'unused' },
  // No cache: the download is what is measured.
  cache: new FileCache(join(scratch, 'cache'), 0),
  progress: () => undefined,
};
const dest = join(destDir, 'original');
const started = performance.now();
if (kind === 'direct') {
  await downloadDirect(ctx, await probeRanges(config, url), dest);
} else {
  await downloadTracks(ctx, [{ track: (await loadHls(config, url)).main, dest }], budget(ctx));
}
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
process.exit(0);
