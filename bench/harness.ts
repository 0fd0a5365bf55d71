import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The middle of the runs (the lower of the two middles for an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

/** bench/throttled-server.ts over `dir` in its own process (so it never shares an event loop with what is measured). */
export async function startThrottledServer(dir: string, rate: string, latencyMs: string): Promise<{ url: (path: string) => string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'throttled-server.ts'), '--dir', dir, '--rate', rate, '--latency-ms', latencyMs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return { url: (path) => `http://127.0.0.1:${port}/${path}`, stop: () => child.kill() };
}
