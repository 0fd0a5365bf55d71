import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_BUNDLE } from './bundling.js';
import { REPO_ROOT } from './paths.js';

export const WORKER_DOCKERFILE = join(REPO_ROOT, 'containers', 'media-worker', 'Dockerfile');
/** The bundle's name in the image folder (the Dockerfile copies it; the local runtime runs it). */
export const WORKER_BUNDLE = 'main.mjs';

/**
 * The worker's image folder: its Dockerfile and the worker bundled by the project's own esbuild, on this machine, at
 * synth time (as the Lambdas are). The image build then only installs the media tools, with no npm step; the local
 * runtime runs this same bundle. Folders are named by their content, so synths that run at once never clash.
 */
export function workerImageDir(): string {
  built ??= build();
  return built;
}

let built: string | undefined;

function build(): string {
  const root = join(tmpdir(), 'media-ingest-worker-image');
  mkdirSync(root, { recursive: true });
  const building = mkdtempSync(join(root, 'building-'));
  buildSync({
    entryPoints: [join(REPO_ROOT, 'containers', 'media-worker', 'main.ts')],
    ...NODE_BUNDLE,
    outfile: join(building, WORKER_BUNDLE),
  });
  copyFileSync(WORKER_DOCKERFILE, join(building, 'Dockerfile'));
  const hash = createHash('sha256');
  for (const name of [WORKER_BUNDLE, 'Dockerfile']) hash.update(readFileSync(join(building, name)));
  const dir = join(root, hash.digest('hex').slice(0, 32));
  if (existsSync(dir)) rmSync(building, { recursive: true, force: true });
  else renameSync(building, dir);
  return dir;
}
