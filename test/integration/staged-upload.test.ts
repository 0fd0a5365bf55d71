import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StagedUpload } from '../../containers/media-worker/staged-upload.js';
import { StagingTarget } from '../../containers/media-worker/staging-target.js';
import { uploadFile } from '../../containers/media-worker/staging.js';
import type { StepContext } from '../../containers/media-worker/context.js';
import { downloadDirect } from '../../containers/media-worker/sources/direct.js';
import { extract } from '../../containers/media-worker/steps/extract.js';
import { budget, downloadTracks } from '../../containers/media-worker/sources/segments.js';
import { probeRanges } from '../../core/http.js';
import type { SegmentedTrack } from '../../core/playlist.js';
import { type RecordingS3, startRecordingS3 } from '../fixtures/recording-s3.js';
import { withScratch } from '../fixtures/runtime.js';
import { serveRange, type TestServer } from '../fixtures/server.js';
import { extractContext } from '../fixtures/step-context.js';

const MiB = 1024 * 1024;
const BUCKET = 'staging';
/** 40 MiB in 4 lanes: eight 5 MiB ranges, each an upload part. */
const FILE = randomBytes(40 * MiB);
/** A second version of a platform format: served as one stream (no ranges). */
const OTHER = randomBytes(3 * MiB);
/** Ten 1.5 MiB segments behind an init section: parts of four, four and two segments. */
const INIT = randomBytes(1000);
const SEGMENTS = Array.from({ length: 10 }, () => randomBytes(1.5 * MiB));

let server: TestServer;
let s3: RecordingS3;
let client: S3Client;
/** Range starts the file's server was asked for, and how many parts were uploaded when each answer ended. */
const asked: Array<{ start: number; partsUploadedAtEnd?: number; endedAt?: number }> = [];
const segmentsAsked: number[] = [];
/** Ranges from this byte on (segments from this index on) are refused while set: a download that fails half-way. */
let refuseFrom: number | undefined;

const uploadParts = (key: string) => s3.requests.filter((r) => r.key === key && r.operation === 'UploadPart');

const scratch = withScratch('staged-upload', {
  setup: async ({ serve, atEnd }) => {
    s3 = await startRecordingS3();
    atEnd(() => s3.close());
    client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    atEnd(() => client.destroy());
    const refused = (res: ServerResponse) => res.writeHead(404).end();
    server = await serve({
      '/file.bin': {
        handler: (req, res) => {
          const start = Number(/^bytes=(\d+)/.exec(req.headers.range ?? '')?.[1] ?? 0);
          if (req.headers.range === 'bytes=0-0') return void serveRange(req, res, FILE, { etag: '"v1"' });
          if (refuseFrom !== undefined && start >= refuseFrom) return refused(res);
          const entry: (typeof asked)[number] = { start };
          asked.push(entry);
          res.on('close', () => {
            entry.partsUploadedAtEnd = uploadParts('job/original').length;
            entry.endedAt = performance.now();
          });
          // 10 MB/s a connection: a range takes half a second, an upload part a few milliseconds.
          serveRange(req, res, FILE, { etag: '"v1"', rate: 10_000_000 });
        },
      },
      '/other.bin': { handler: (req, res) => void serveRange(req, res, OTHER, { etag: '"other"', ranges: false }) },
      '/init.mp4': { handler: (req, res) => void serveRange(req, res, INIT) },
      ...Object.fromEntries(
        SEGMENTS.map((bytes, i) => [
          `/seg/${i}.m4s`,
          {
            handler: (req: Parameters<typeof serveRange>[0], res: ServerResponse) => {
              if (refuseFrom !== undefined && i >= refuseFrom) return refused(res);
              segmentsAsked.push(i);
              serveRange(req, res, bytes);
            },
          },
        ]),
      ),
    });
  },
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function context(): StepContext {
  return { ...extractContext(server.url('/'), 4, scratch.dir), s3: client, stagingBucket: BUCKET };
}

const target = (job: string) => new StagingTarget(client, BUCKET, `${job}/original`, `${job}/parts/original/`);

describe('a ranged download staged while it runs', () => {
  it('goes up as parts of at least 5 MiB while the download runs, never whole again, byte for byte', async () => {
    asked.length = 0;
    const dest = join(scratch.dir, 'file.bin');
    const staging = target('job');
    await downloadDirect(context(), await probeRanges(context().config, server.url('/file.bin')), dest, staging);
    const ref = await staging.ref(dest);

    expect(ref).toEqual({ key: 'job/original', bytes: FILE.length, sha256: sha256(FILE) });
    expect(s3.get(BUCKET, 'job/original')!.body.equals(FILE)).toBe(true);
    // One upload of eight parts (the fixture refuses a part under 5 MiB but the last, as S3 does); no PUT of the whole.
    const calls = s3.requests.filter((r) => r.key === 'job/original').map((r) => r.operation);
    expect(calls.filter((c) => c === 'UploadPart')).toHaveLength(8);
    expect(calls).not.toContain('PutObject');
    // Parts were going up while the download ran: some were up before its last answer ended.
    const last = asked.reduce((a, b) => (b.start > a.start ? b : a));
    expect(last.partsUploadedAtEnd).toBeGreaterThanOrEqual(1);
    // Each 5 MiB range is a part of its own that began going up while the range was still coming (half a second),
    // so no part waits for its range to end: the upload ends with the download.
    const began = (n: number) => Math.min(...s3.requests.filter((r) => r.key === 'job/original' && r.partNumber === n).map((r) => r.arrivedAt));
    const ended = (start: number) => asked.find((a) => a.start === start)!.endedAt!;
    expect(Array.from({ length: 8 }, (_, i) => began(i + 1) < ended(i * 5 * MiB))).toEqual(Array(8).fill(true));
  });

  it('a retried download fetches no range an uploaded part holds, and the file is whole again on disk', async () => {
    asked.length = 0;
    refuseFrom = 20 * MiB;
    const dest = join(scratch.dir, 'retried.bin');
    const probe = await probeRanges(context().config, server.url('/file.bin'));
    await expect(downloadDirect(context(), probe, dest, target('job2'))).rejects.toMatchObject({ name: 'SourceNotFound' });
    // The finished half is kept as upload parts, listed in staging; nothing is complete yet.
    expect(s3.get(BUCKET, 'job2/original')).toBeUndefined();
    expect(uploadParts('job2/original')).toHaveLength(4);

    refuseFrom = undefined;
    asked.length = 0;
    const staging = target('job2');
    await downloadDirect(context(), probe, dest, staging);
    expect(asked.map((a) => a.start).sort((a, b) => a - b)).toEqual([20, 25, 30, 35].map((m) => m * MiB));
    expect(uploadParts('job2/original')).toHaveLength(8);
    expect(sha256(readFileSync(dest))).toBe(sha256(FILE));
    expect((await staging.ref(dest)).sha256).toBe(sha256(FILE));
    expect(s3.get(BUCKET, 'job2/original')!.body.equals(FILE)).toBe(true);
  });
});

describe('an upload aborted while its attempt runs', () => {
  it('fails the attempt with a retryable SourceUnavailable, its list dropped, and the next attempt starts afresh, byte for byte', async () => {
    const dest = join(scratch.dir, 'aborted.bin');
    const probe = await probeRanges(context().config, server.url('/file.bin'));
    const staging = target('job5');
    const upload = await staging.open('v1', 2);
    // Cleanup (the job was cancelled) aborts the upload while the download runs.
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'job5/original', UploadId: listed('job5', 'v1').uploadId }));
    feed(upload, 'job5', [randomBytes(5 * MiB), randomBytes(1 * MiB)]);
    await expect(upload.finish(join(scratch.dir, 'job5-a'))).rejects.toMatchObject({ name: 'SourceUnavailable', message: expect.stringMatching(/aborted/) });
    expect(s3.get(BUCKET, listKey('job5', 'v1'))).toBeUndefined();

    const again = target('job5');
    await downloadDirect(context(), probe, dest, again);
    expect((await again.ref(dest)).sha256).toBe(sha256(FILE));
    expect(s3.get(BUCKET, 'job5/original')!.body.equals(FILE)).toBe(true);
  });
});

describe('segments staged while they download', () => {
  const track = (): SegmentedTrack => ({
    init: { uri: server.url('/init.mp4') },
    segments: SEGMENTS.map((_, i) => ({ uri: server.url(`/seg/${i}.m4s`), duration: 2 })),
    container: 'fragments',
    durationSeconds: 20,
  });
  const whole = Buffer.concat([INIT, ...SEGMENTS]);

  it('go up in order behind the init section, grouped into parts of at least 5 MiB; a retry fetches only the segments no part holds', async () => {
    refuseFrom = 6;
    const dest = join(scratch.dir, 'segments.mp4');
    const ctx = context();
    await expect(downloadTracks(ctx, [{ track: track(), dest, target: target('job3') }], budget(ctx))).rejects.toMatchObject({ name: 'SourceNotFound' });
    // Segments 0-3 (6 MiB with the init section) made a part; 4 and 5 were too few for one.
    expect(uploadParts('job3/original')).toHaveLength(1);

    refuseFrom = undefined;
    segmentsAsked.length = 0;
    await downloadTracks(ctx, [{ track: track(), dest, target: target('job3') }], budget(ctx));
    expect(segmentsAsked.sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(uploadParts('job3/original').map((r) => r.partNumber).sort()).toEqual([1, 2, 3]);
    expect(s3.get(BUCKET, 'job3/original')!.body.equals(whole)).toBe(true);
    expect(readFileSync(dest).equals(whole)).toBe(true);
  });
});

describe('an upload resumed with a gap', () => {
  it('gives the missing pieces the part numbers between the kept ones, so the parts stay in byte order', async () => {
    // An earlier attempt uploaded pieces 0 and 2 as parts 1 and 3; piece 1 was in flight when its worker died.
    const pieces = [0, 1, 2, 3].map(() => randomBytes(5 * MiB));
    const key = 'job4/original';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const uploaded = async (number: number, i: number) => {
      const { ETag } = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: number, Body: pieces[i] }));
      return { number, etag: ETag!, first: i, last: i, bytes: pieces[i]!.length };
    };
    const state = { uploadId: UploadId!, pieces: 4, parts: [await uploaded(1, 0), await uploaded(3, 2)] };
    const before = s3.requests.length;

    const upload = new StagedUpload(client, BUCKET, key, 'job4/parts/original/v.json', state);
    expect([0, 1, 2, 3].map((i) => upload.kept(i))).toEqual([true, false, true, false]);
    for (const i of [3, 1]) {
      const path = join(scratch.dir, `piece-${i}`);
      writeFileSync(path, pieces[i]!);
      upload.add(i, [{ path, start: 0, end: pieces[i]!.length - 1 }]);
    }
    const dest = join(scratch.dir, 'gap.bin');
    await upload.finish(dest);
    const numbers = s3.requests.slice(before).filter((r) => r.operation === 'UploadPart').map((r) => r.partNumber);
    expect(numbers.sort()).toEqual([2, 4]);
    expect(s3.get(BUCKET, key)!.body.equals(Buffer.concat(pieces))).toBe(true);
    expect(readFileSync(dest).equals(Buffer.concat(pieces))).toBe(true);
  });
});

/** Writes `pieces` to files and feeds them, from piece `from` on, to `upload`. */
function feed(upload: StagedUpload, job: string, pieces: Buffer[], from = 0): void {
  pieces.forEach((p, n) => {
    const i = from + n;
    const path = join(scratch.dir, `${job}-piece-${i}`);
    writeFileSync(path, p);
    upload.add(i, [{ path, start: 0, end: p.length - 1 }]);
  });
}

/** `bytes` staged for version v1 of `job`, the upload completed, as an earlier attempt left it. */
async function stagedBefore(job: string, bytes: Buffer[]): Promise<void> {
  const upload = await target(job).open('v1', bytes.length);
  feed(upload, job, bytes);
  await upload.finish(join(scratch.dir, `${job}-a`));
}

/** A retry of `job` that must begin afresh: no piece kept, every one fed again, the object those bytes. */
async function retriedAfresh(job: string, bytes: Buffer[]): Promise<void> {
  const retry = await target(job).open('v1', bytes.length);
  expect(bytes.map((_, i) => retry.kept(i))).toEqual(bytes.map(() => false));
  feed(retry, job, bytes);
  await retry.finish(join(scratch.dir, `${job}-b`));
  expect(s3.get(BUCKET, `${job}/original`)!.body.equals(Buffer.concat(bytes))).toBe(true);
}

const listKey = (job: string, version: string) => `${job}/parts/original/${sha256(Buffer.from(version)).slice(0, 16)}.json`;
const listed = (job: string, version: string) => JSON.parse(s3.get(BUCKET, listKey(job, version))!.body.toString()) as { uploadId: string; completed?: string; parts: unknown[] };

describe('a part list that outlived what it describes', () => {
  const pieces = () => [randomBytes(5 * MiB), randomBytes(1 * MiB)];

  it('is listed as soon as its upload begins, before any part', async () => {
    await target('job6').open('v1', 2);
    expect(listed('job6', 'v1')).toMatchObject({ parts: [] });
  });

  it('a retry after Complete failed (every part up) completes from the kept parts, fetching nothing', async () => {
    const bytes = pieces();
    s3.failWhen((r) => r.operation === 'CompleteMultipartUpload' && r.key === 'job7/original');
    const first = await target('job7').open('v1', 2);
    feed(first, 'job7', bytes);
    await expect(first.finish(join(scratch.dir, 'job7-a'))).rejects.toMatchObject({ name: 'AccessDenied' });
    s3.failWhen(undefined);
    const second = await target('job7').open('v1', 2);
    expect([second.kept(0), second.kept(1)]).toEqual([true, true]);
    await second.finish(join(scratch.dir, 'job7-b'));
    expect(s3.get(BUCKET, 'job7/original')!.body.equals(Buffer.concat(bytes))).toBe(true);
    expect(readFileSync(join(scratch.dir, 'job7-b')).equals(Buffer.concat(bytes))).toBe(true);
  });

  it('a retry after Complete succeeded but before the list said so begins afresh (S3 forgets a completed upload)', async () => {
    const bytes = pieces();
    const completed = () => s3.requests.some((q) => q.operation === 'CompleteMultipartUpload' && q.key === 'job8/original');
    s3.failWhen((r) => r.operation === 'PutObject' && r.key.startsWith('job8/parts/') && completed());
    const first = await target('job8').open('v1', 2);
    feed(first, 'job8', bytes);
    await expect(first.finish(join(scratch.dir, 'job8-a'))).rejects.toMatchObject({ name: 'AccessDenied' });
    s3.failWhen(undefined);
    const before = listed('job8', 'v1').uploadId;

    await retriedAfresh('job8', pieces());
    expect(listed('job8', 'v1').uploadId).not.toBe(before);
  });

  it('a retry after the bucket aborted the upload (its lifecycle rule, after a long pause) begins afresh at once', async () => {
    const bytes = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1 * MiB)];
    const first = await target('job9').open('v1', 3);
    feed(first, 'job9', bytes.slice(0, 1));
    await first.settle();
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'job9/original', UploadId: listed('job9', 'v1').uploadId }));

    await retriedAfresh('job9', bytes);
  });

  it('a completed upload whose object was replaced since is not taken for the staged file', async () => {
    const bytes = pieces();
    await stagedBefore('job10', bytes);
    expect(listed('job10', 'v1').completed).toBe(s3.get(BUCKET, 'job10/original')!.etag);
    // A later attempt staged another file there (yt-dlp's own download, uploaded whole).
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'job10/original', Body: randomBytes(1000) }));

    await retriedAfresh('job10', bytes);
  });

  it('a completed upload whose object HEAD refuses (403: a missing key, to a role listing only some prefixes) begins afresh', async () => {
    const bytes = pieces();
    await stagedBefore('job18', bytes);
    s3.failWhen((r) => r.operation === 'HeadObject' && r.key === 'job18/original');
    try {
      const second = await target('job18').open('v1', 2);
      expect([second.kept(0), second.kept(1)]).toEqual([false, false]);
    } finally {
      s3.failWhen(undefined);
    }
  });

  it('pieces that changed size since an earlier attempt (a part too small) fail once, retryably, and the next attempt begins afresh', async () => {
    const key = 'job11/original';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const up = async (number: number, body: Buffer, i: number) => {
      const { ETag } = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: number, Body: body }));
      return { number, etag: ETag!, first: i, last: i, bytes: body.length };
    };
    // Pieces 0 and 2 kept as parts 1 and 3; piece 1 now comes back 1 MiB long: part 2 would be under S3's floor.
    const state = { uploadId: UploadId!, pieces: 3, parts: [await up(1, randomBytes(5 * MiB), 0), await up(3, randomBytes(1 * MiB), 2)] };
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: listKey('job11', 'v1'), Body: JSON.stringify(state) }));
    const first = await target('job11').open('v1', 3);
    feed(first, 'job11', [randomBytes(1 * MiB)], 1);
    await expect(first.finish(join(scratch.dir, 'job11-a'))).rejects.toMatchObject({ name: 'SourceUnavailable', message: expect.stringMatching(/EntityTooSmall/) });
    expect(s3.get(BUCKET, listKey('job11', 'v1'))).toBeUndefined();
    await expect(client.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }))).rejects.toMatchObject({ name: 'NoSuchUpload' });

    const bytes = [randomBytes(5 * MiB), randomBytes(1 * MiB), randomBytes(1 * MiB)];
    const second = await target('job11').open('v1', 3);
    feed(second, 'job11', bytes);
    await second.finish(join(scratch.dir, 'job11-b'));
    expect(s3.get(BUCKET, key)!.body.equals(Buffer.concat(bytes))).toBe(true);
  });
});

describe('a part whose file cannot be read (its scratch removed)', () => {
  it('fails the upload with the read error, promptly, instead of an unhandled stream error', async () => {
    const upload = await target('job12').open('v1', 1);
    upload.add(0, [{ path: join(scratch.dir, 'gone'), start: 0, end: 6 * MiB - 1 }]);
    const started = Date.now();
    await expect(upload.finish(join(scratch.dir, 'job12-a'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('a staging target asked about another file than the one its upload finished', () => {
  it('uploads that file: a platform format staged by an earlier try is not taken for the one yt-dlp fetched', async () => {
    const staging = target('job13');
    const upload = await staging.open('v1', 2);
    feed(upload, 'job13', [randomBytes(5 * MiB), randomBytes(1 * MiB)]);
    await upload.finish(join(scratch.dir, 'job13-a'));
    const other = randomBytes(3 * MiB);
    writeFileSync(join(scratch.dir, 'job13-ytdlp'), other);
    expect(await staging.ref(join(scratch.dir, 'job13-ytdlp'))).toEqual({ key: 'job13/original', bytes: other.length, sha256: sha256(other) });
    expect(s3.get(BUCKET, 'job13/original')!.body.equals(other)).toBe(true);
  });
});

describe('a target a later download writes again without staging it', () => {
  it("stages that download's file: the upload an earlier try finished is not taken for it (a platform format re-extracted after a 403)", async () => {
    // Try 1: the format is fetched by ranges and staged while it downloads.
    const dest = join(scratch.dir, 'stream-0');
    const staging = target('job14');
    await downloadDirect(context(), await probeRanges(context().config, server.url('/file.bin')), dest, staging);
    expect(s3.get(BUCKET, 'job14/original')!.body.equals(FILE)).toBe(true);
    // Try 2, same step and path: the format now comes as one stream, uploaded once validated.
    await downloadDirect(context(), await probeRanges(context().config, server.url('/other.bin')), dest, staging);
    expect(await staging.ref(dest)).toEqual({ key: 'job14/original', bytes: OTHER.length, sha256: sha256(OTHER) });
    expect(s3.get(BUCKET, 'job14/original')!.body.equals(OTHER)).toBe(true);
  });
});

describe('a part that goes up while its range downloads', () => {
  it('is sent again from the file, once the range is whole, when S3 refused it: the download is staged byte for byte', async () => {
    let refused = 0;
    // AccessDenied is not retried: the part that followed its range fails for good, and is sent again from the file.
    s3.failWhen((r) => r.operation === 'UploadPart' && r.key === 'job20/original' && r.partNumber === 3 && refused++ === 0);
    try {
      const dest = join(scratch.dir, 'refused-part.bin');
      const staging = target('job20');
      await downloadDirect(context(), await probeRanges(context().config, server.url('/file.bin')), dest, staging);
      expect((await staging.ref(dest)).sha256).toBe(sha256(FILE));
      expect(s3.get(BUCKET, 'job20/original')!.body.equals(FILE)).toBe(true);
      expect(uploadParts('job20/original').filter((r) => r.partNumber === 3)).toHaveLength(2);
    } finally {
      s3.failWhen(undefined);
    }
  });
});

describe('S3 asking for a part again (503 SlowDown)', () => {
  it('is answered by sending the part again from its file: the download is staged whole, byte for byte', async () => {
    let slowed = 0;
    s3.failWhen((r) => r.operation === 'UploadPart' && r.key === 'job15/original' && slowed++ === 0, { status: 503, code: 'SlowDown' });
    try {
      const dest = join(scratch.dir, 'slowed.bin');
      const staging = target('job15');
      await downloadDirect(context(), await probeRanges(context().config, server.url('/file.bin')), dest, staging);
      expect(slowed).toBeGreaterThan(1);
      expect((await staging.ref(dest)).sha256).toBe(sha256(FILE));
      expect(s3.get(BUCKET, 'job15/original')!.body.equals(FILE)).toBe(true);
    } finally {
      s3.failWhen(undefined);
    }
  });

  it('is answered for a file uploaded whole too: its PUT, and a part of its multipart upload, sent again from the file', async () => {
    for (const [name, size, operation] of [['small', 1 * MiB, 'PutObject'], ['large', 9 * MiB, 'UploadPart']] as const) {
      const key = `job19/${name}`;
      let slowed = 0;
      s3.failWhen((r) => r.operation === operation && r.key === key && slowed++ === 0, { status: 503, code: 'SlowDown' });
      try {
        const bytes = randomBytes(size);
        writeFileSync(join(scratch.dir, `job19-${name}`), bytes);
        expect(await uploadFile(client, BUCKET, key, join(scratch.dir, `job19-${name}`))).toEqual({ key, bytes: size, sha256: sha256(bytes) });
        expect(slowed).toBeGreaterThan(1);
        expect(s3.get(BUCKET, key)!.body.equals(bytes)).toBe(true);
      } finally {
        s3.failWhen(undefined);
      }
    }
  });

  it('fails the attempt retryably (SourceUnavailable) when S3 keeps refusing, keeping the parts already up', async () => {
    s3.failWhen((r) => r.operation === 'UploadPart' && r.key === 'job16/original' && r.partNumber === 2, { status: 503, code: 'SlowDown' });
    try {
      const upload = await target('job16').open('v1', 2);
      feed(upload, 'job16', [randomBytes(5 * MiB), randomBytes(1 * MiB)]);
      await expect(upload.finish(join(scratch.dir, 'job16-a'))).rejects.toMatchObject({ name: 'SourceUnavailable', message: expect.stringMatching(/SlowDown/) });
      expect(s3.requests.filter((r) => r.key === 'job16/original' && r.partNumber === 2)).toHaveLength(3);
      expect(listed('job16', 'v1').parts).toHaveLength(1);
    } finally {
      s3.failWhen(undefined);
    }
  });
});

describe('a DASH extract whose audio fails while its video downloads', () => {
  const SEGS = Array.from({ length: 10 }, () => randomBytes(1.5 * MiB));
  const mpd = (base: string) => `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT20S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period>
    <AdaptationSet mimeType="video/mp4">
      <Representation id="v" bandwidth="1000000" width="640" height="360" codecs="avc1.42c01e">
        <SegmentList duration="2" timescale="1">
          <Initialization sourceURL="${base}/dash/init.mp4"/>
${SEGS.map((_, i) => `          <SegmentURL media="${base}/dash/${i}.m4s"/>`).join('\n')}
        </SegmentList>
      </Representation>
    </AdaptationSet>
    <AdaptationSet mimeType="audio/mp4">
      <Representation id="a" bandwidth="128000" codecs="mp4a.40.2">
        <BaseURL>${base}/dash/audio.mp4</BaseURL>
        <SegmentBase indexRange="800-999"><Initialization range="0-799"/></SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`;

  it('stops the video before the step fails: no part goes up and no part list is written after', async () => {
    let base = '';
    const dash = await scratch.serve({
      '/dash/manifest.mpd': { handler: (_req, res) => void res.writeHead(200, { 'content-type': 'application/dash+xml' }).end(mpd(base)) },
      '/dash/init.mp4': { handler: (req, res) => void serveRange(req, res, INIT) },
      '/dash/audio.mp4': { handler: (_req, res) => void res.writeHead(404).end() },
      ...Object.fromEntries(
        SEGS.map((bytes, i) => [`/dash/${i}.m4s`, { handler: (req: Parameters<typeof serveRange>[0], res: ServerResponse) => void serveRange(req, res, bytes, { rate: 3_000_000 }) }]),
      ),
    });
    base = dash.url('').replace(/\/$/, '');
    const url = dash.url('/dash/manifest.mpd');
    const ctx = context();
    const classify = { kind: 'dash', url, contentType: 'application/dash+xml', acceptRanges: true, durationMs: 0, bytes: 0 };
    const input = { ...ctx.input, jobId: 'job17', checkpoints: { classify } };
    await expect(extract({ ...ctx, input })).rejects.toMatchObject({ name: 'SourceNotFound' });
    const atFailure = s3.requests.length;
    await sleep(3000);
    expect(s3.requests.slice(atFailure).filter((r) => r.key.includes('/job17/'))).toEqual([]);
  });
});
