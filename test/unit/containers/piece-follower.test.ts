import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PieceFollower } from '../../../containers/media-worker/piece-follower.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ingest-follower-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** How many of this process's open files are `path`. */
const openFiles = (path: string) => readdirSync('/proc/self/fd').filter((fd) => (() => { try { return readlinkSync(`/proc/self/fd/${fd}`) === path; } catch { return false; } })()).length;

/** A file the test writes a piece of (bytes 100..100+size-1) in chunks, as a download does, and its follower. */
async function piece(size: number, name = 'download.bin') {
  const path = join(dir, name);
  const file = await open(path, 'w');
  const follower = new PieceFollower({ path, start: 100, end: 100 + size - 1 });
  let at = 100;
  const write = async (bytes: Buffer) => {
    await file.write(bytes, 0, bytes.length, at);
    at += bytes.length;
    follower.wrote(bytes.length);
  };
  return { path, file, follower, write };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("a piece's follower (the body of an upload part that goes up while its range downloads)", () => {
  it('gives the piece byte for byte as it is written, to a reader begun before the first byte and to one begun half-way', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const { file, follower, write } = await piece(bytes.length);
    const early = readAll(follower.stream());
    await write(bytes.subarray(0, 1_000_000));
    await sleep(20);
    const late = readAll(follower.stream());
    await write(bytes.subarray(1_000_000, 2_500_000));
    await sleep(20);
    await write(bytes.subarray(2_500_000));
    expect((await early).equals(bytes)).toBe(true);
    expect((await late).equals(bytes)).toBe(true);
    await file.close();
  });

  it("ends its readers with the download's failure, and fails on a rewind (bytes written again)", async () => {
    const { file, follower, write } = await piece(1000);
    const reading = readAll(follower.stream());
    await write(randomBytes(400));
    follower.fail(new Error('the server cut the range'));
    await expect(reading).rejects.toThrow('the server cut the range');
    expect(follower.failed).toBe(true);

    const other = await piece(1000, 'other.bin');
    const rereading = readAll(other.follower.stream());
    await other.write(randomBytes(400));
    other.follower.wrote(-400);
    await expect(rereading).rejects.toThrow(/rewritten/);
    await Promise.all([file.close(), other.file.close()]);
  });

  it('closes its file when destroyed while it waits for bytes (a request that ended half-way)', async () => {
    const { path, file, follower, write } = await piece(1000);
    await write(randomBytes(10));
    await file.close();
    const stream = follower.stream();
    let read = 0;
    stream.on('data', (chunk: Buffer) => (read += chunk.length));
    stream.on('error', () => undefined);
    await sleep(50);
    // The 10 bytes written are read; the reader waits for the other 990 with the file open.
    expect(read).toBe(10);
    expect(openFiles(path)).toBe(1);
    stream.destroy();
    await sleep(50);
    expect(openFiles(path)).toBe(0);
  });
});
