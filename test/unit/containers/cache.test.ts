import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileCache } from '../../../containers/media-worker/cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-cache-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A file of `bytes` bytes of `fill`, and its sha256. */
function file(name: string, bytes: number, fill: string): { path: string; sha256: string } {
  const path = join(dir, name);
  writeFileSync(path, Buffer.alloc(bytes, fill));
  return { path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}

describe("a worker's file cache", () => {
  it('gives back a file a step kept (a hit), and nothing for one it never saw (a miss)', async () => {
    const cache = new FileCache(join(dir, 'cache'), 1000);
    const a = file('a', 100, 'a');
    await cache.put(a.path, a.sha256);
    expect(await cache.take(a.sha256, join(dir, 'a-again'))).toBe(true);
    expect(readFileSync(join(dir, 'a-again'))).toEqual(readFileSync(a.path));
    expect(await cache.take('0'.repeat(64), join(dir, 'none'))).toBe(false);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });

  it('is shared by every worker on the disk: what one keeps, another takes', async () => {
    const [one, other] = [new FileCache(join(dir, 'cache'), 1000), new FileCache(join(dir, 'cache'), 1000)];
    const a = file('a', 100, 'a');
    await one.put(a.path, a.sha256);
    // Kept again by the other: the entry is replaced, and a file taken from it before is left as it was.
    expect(await other.take(a.sha256, join(dir, 'taken'))).toBe(true);
    await other.put(a.path, a.sha256);
    expect(readFileSync(join(dir, 'taken'))).toEqual(readFileSync(a.path));
    expect(await one.take(a.sha256, join(dir, 'taken-again'))).toBe(true);
  });

  it('drops an entry that no longer hashes to its name, and gives nothing', async () => {
    const cache = new FileCache(join(dir, 'cache'), 1000);
    const a = file('a', 100, 'a');
    await cache.put(a.path, a.sha256);
    writeFileSync(join(dir, 'cache', a.sha256), Buffer.alloc(100, 'x'));
    expect(await cache.take(a.sha256, join(dir, 'a-again'))).toBe(false);
    expect(existsSync(join(dir, 'cache', a.sha256))).toBe(false);
  });

  it('stays within its size, the least recently used out first; a file larger than the bound is not kept', async () => {
    const cache = new FileCache(join(dir, 'cache'), 250);
    const [a, b, c] = [file('a', 100, 'a'), file('b', 100, 'b'), file('c', 100, 'c')];
    await cache.put(a.path, a.sha256);
    await sleep(20);
    await cache.put(b.path, b.sha256);
    await sleep(20);
    expect(await cache.take(a.sha256, join(dir, 'a-used'))).toBe(true);
    await sleep(20);
    await cache.put(c.path, c.sha256);
    expect([a, b, c].map((f) => existsSync(join(dir, 'cache', f.sha256)))).toEqual([true, false, true]);
    const big = file('big', 300, 'z');
    await cache.put(big.path, big.sha256);
    expect(existsSync(join(dir, 'cache', big.sha256))).toBe(false);
  });

  it('leaves alone a file another worker is placing: neither evicted nor counted against the bound', async () => {
    const cache = new FileCache(join(dir, 'cache'), 250);
    const a = file('a', 100, 'a');
    await cache.put(a.path, a.sha256);
    // Another worker's entry half-placed (linked under its temporary name, not yet renamed).
    const placing = join(dir, 'cache', `.${'f'.repeat(64)}.placing`);
    writeFileSync(placing, Buffer.alloc(200, 'p'));
    const b = file('b', 100, 'b');
    await cache.put(b.path, b.sha256);
    expect([existsSync(placing), existsSync(join(dir, 'cache', a.sha256)), existsSync(join(dir, 'cache', b.sha256))]).toEqual([true, true, true]);
  });
});
