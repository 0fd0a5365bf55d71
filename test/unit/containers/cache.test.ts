import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { FileCache, withStaged } from '../../../containers/media-worker/cache.js';
import { type RecordingS3, startRecordingS3 } from '../../fixtures/recording-s3.js';

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

/** Whether `cache` gives back the entry for `sha256` at `dest`, its bytes checked. */
async function taken(cache: FileCache, sha256: string, dest: string): Promise<boolean> {
  return (await (await cache.lend(sha256, dest))?.intact) ?? false;
}

describe("a worker's file cache", () => {
  it('gives back a file a step kept (a hit), and nothing for one it never saw (a miss)', async () => {
    const cache = new FileCache(join(dir, 'cache'), 1000);
    const a = file('a', 100, 'a');
    await cache.put(a.path, a.sha256);
    expect(await taken(cache, a.sha256, join(dir, 'a-again'))).toBe(true);
    expect(readFileSync(join(dir, 'a-again'))).toEqual(readFileSync(a.path));
    expect(await taken(cache, '0'.repeat(64), join(dir, 'none'))).toBe(false);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });

  it('is shared by every worker on the disk: what one keeps, another takes', async () => {
    const [one, other] = [new FileCache(join(dir, 'cache'), 1000), new FileCache(join(dir, 'cache'), 1000)];
    const a = file('a', 100, 'a');
    await one.put(a.path, a.sha256);
    // Kept again by the other: the entry is replaced, and a file taken from it before is left as it was.
    expect(await taken(other, a.sha256, join(dir, 'taken'))).toBe(true);
    await other.put(a.path, a.sha256);
    expect(readFileSync(join(dir, 'taken'))).toEqual(readFileSync(a.path));
    expect(await taken(one, a.sha256, join(dir, 'taken-again'))).toBe(true);
  });

  it('drops an entry that no longer hashes to its name, and gives nothing', async () => {
    const cache = new FileCache(join(dir, 'cache'), 1000);
    const a = file('a', 100, 'a');
    await cache.put(a.path, a.sha256);
    writeFileSync(join(dir, 'cache', a.sha256), Buffer.alloc(100, 'x'));
    expect(await taken(cache, a.sha256, join(dir, 'a-again'))).toBe(false);
    expect(existsSync(join(dir, 'cache', a.sha256))).toBe(false);
  });

  it('stays within its size, the least recently used out first; a file larger than the bound is not kept', async () => {
    const cache = new FileCache(join(dir, 'cache'), 250);
    const [a, b, c] = [file('a', 100, 'a'), file('b', 100, 'b'), file('c', 100, 'c')];
    await cache.put(a.path, a.sha256);
    await sleep(20);
    await cache.put(b.path, b.sha256);
    await sleep(20);
    expect(await taken(cache, a.sha256, join(dir, 'a-used'))).toBe(true);
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

describe('a step using staged files through the cache (withStaged)', () => {
  let s3: RecordingS3;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startRecordingS3();
    client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
  });

  /** A file staged and kept in a cache, as extract leaves it; the ref merge gets. */
  async function stagedAndKept(name: string, fill: string) {
    const kept = file(name, 1000, fill);
    s3.put('staging', `job/${name}`, readFileSync(kept.path));
    const cache = new FileCache(join(dir, 'cache'), 10_000);
    await cache.put(kept.path, kept.sha256);
    return { cache, ref: { key: `job/${name}`, bytes: 1000, sha256: kept.sha256 }, bytes: readFileSync(kept.path) };
  }
  const gets = (key: string) => s3.requests.filter((r) => r.operation === 'GetObject' && r.key === key).length;

  it('reads a cached file at once and once only: no GetObject, the work done one time', async () => {
    const { cache, ref, bytes } = await stagedAndKept('one', 'o');
    const dest = join(dir, 'used');
    const seen: Buffer[] = [];
    const result = await withStaged(client, 'staging', cache, [[ref, dest]], async () => (seen.push(readFileSync(dest)), 'made'));
    expect(result).toBe('made');
    expect(seen).toEqual([bytes]);
    expect(gets(ref.key)).toBe(0);
  });

  it("redoes the work on staging's copy when the cached one turns out corrupt, and drops what the first run made or threw", async () => {
    const { cache, ref, bytes } = await stagedAndKept('two', 't');
    writeFileSync(join(dir, 'cache', ref.sha256), Buffer.alloc(1000, 'x'));
    const dest = join(dir, 'used');
    const seen: Buffer[] = [];
    const result = await withStaged(client, 'staging', cache, [[ref, dest]], async () => {
      const now = readFileSync(dest);
      seen.push(now);
      // The corrupt bytes make the tool fail: that failure is not the step's.
      if (!now.equals(bytes)) throw new Error('ffmpeg: invalid data');
      return 'made';
    });
    expect(result).toBe('made');
    expect(seen.map((b) => b.equals(bytes))).toEqual([false, true]);
    expect(gets(ref.key)).toBe(1);
    // The cache holds the good bytes again, for the next step.
    expect(readFileSync(join(dir, 'cache', ref.sha256)).equals(bytes)).toBe(true);
  });

  it('gives what the work made from staging\'s copy, never what it made from corrupt bytes it did not fail on', async () => {
    const { cache, ref, bytes } = await stagedAndKept('five', 'v');
    writeFileSync(join(dir, 'cache', ref.sha256), Buffer.alloc(1000, 'y'));
    const dest = join(dir, 'used');
    const made = await withStaged(client, 'staging', cache, [[ref, dest]], async () => readFileSync(dest));
    expect(made.equals(bytes)).toBe(true);
  });

  it("fails with the work's own failure when the cached file was intact", async () => {
    const { cache, ref } = await stagedAndKept('three', 'h');
    await expect(withStaged(client, 'staging', cache, [[ref, join(dir, 'used')]], () => Promise.reject(new Error('no audio stream')))).rejects.toThrow('no audio stream');
  });

  it('brings a file the cache does not hold from staging before the work starts', async () => {
    const { ref, bytes } = await stagedAndKept('four', 'f');
    const empty = new FileCache(join(dir, 'other-cache'), 10_000);
    const dest = join(dir, 'used');
    await withStaged(client, 'staging', empty, [[ref, dest]], async () => expect(readFileSync(dest).equals(bytes)).toBe(true));
    expect(gets(ref.key)).toBe(1);
    expect(existsSync(join(dir, 'other-cache', ref.sha256))).toBe(true);
  });
});
