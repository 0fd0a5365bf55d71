import { execFileSync } from 'node:child_process';
import { killAllTools, runTool, ToolError } from '../../containers/media-worker/tools/run.js';

/** PIDs of processes whose command line contains `marker`. */
function alive(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', marker]).toString().trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('the tool runner', () => {
  it('kills the whole process tree when a tool outlives its timeout, and keeps the stderr tail', async () => {
    const marker = `sleep 97.${process.pid}`;
    const script = `for i in $(seq 1 15); do echo "line $i" >&2; done; ${marker} & ${marker}; wait`;
    const err = await runTool('sh', ['-c', script], { timeoutMs: 1500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).timedOut).toBe(true);
    expect((err as ToolError).stderrTail).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 6}`));
    expect(alive(marker)).toEqual([]);
  });

  it('kills running tools as a tree when the worker is stopped', async () => {
    const marker = `sleep 98.${process.pid}`;
    const running = runTool('sh', ['-c', `${marker} & ${marker}; wait`], { timeoutMs: 60_000 }).catch((e: unknown) => e);
    // The shell and its two sleeps (pgrep -f sees the marker in all three command lines).
    for (let i = 0; i < 50 && alive(marker).length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(marker)).toHaveLength(3);
    killAllTools();
    expect(await running).toBeInstanceOf(ToolError);
    expect(alive(marker)).toEqual([]);
  });

  it('reports a failing tool with its exit code', async () => {
    const err = (await runTool('sh', ['-c', 'echo boom >&2; exit 3'], { timeoutMs: 5000 }).catch((e: unknown) => e)) as ToolError;
    expect(err.message).toContain('exited with code 3');
    expect(err.stderrTail).toEqual(['boom']);
  });
});
