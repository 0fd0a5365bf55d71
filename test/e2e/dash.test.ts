import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectCopiedSource, runToEnd } from '../fixtures/jobs.js';
import { dash, dashLadder, keyframedClip, probeStreams } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { folderRoutes, hitsUnder, type TestServer } from '../fixtures/server.js';

const SECONDS = 8;
let server: TestServer;

const fx = withRuntime('dash', {
  setup: async ({ dir, serve }) => {
    const clip = keyframedClip(join(dir, 'clip.mp4'), SECONDS);
    dash(clip, join(dir, 'number'), '-use_template', '1', '-use_timeline', '0');
    // make_zero: ffmpeg otherwise names the first AAC segment by its negative (priming) time but lists it at t=0.
    dash(clip, join(dir, 'time'), '-avoid_negative_ts', 'make_zero', '-use_template', '1', '-use_timeline', '1', '-media_seg_name', 'chunk-$RepresentationID$-$Time$.m4s');
    dash(clip, join(dir, 'list'), '-use_template', '0');
    dash(clip, join(dir, 'ranges'), '-single_file', '1');
    // SegmentBase: each representation one indexed file (ffmpeg writes SegmentList byte ranges; the same files serve).
    const ranges = readFileSync(join(dir, 'ranges', 'manifest.mpd'), 'utf8');
    mkdirSync(join(dir, 'base'));
    for (const f of readdirSync(join(dir, 'ranges'))) if (f.endsWith('.mp4')) writeFileSync(join(dir, 'base', f), readFileSync(join(dir, 'ranges', f)));
    writeFileSync(
      join(dir, 'base', 'manifest.mpd'),
      ranges.replace(/<SegmentList[^>]*>\s*<Initialization range="([\d-]+)" \/>\s*<SegmentURL mediaRange="[\d-]+" indexRange="([\d-]+)" \/>[\s\S]*?<\/SegmentList>/g,
        '<SegmentBase indexRange="$2"><Initialization range="$1" /></SegmentBase>'),
    );
    // One plain BaseURL per representation, no segment information at all: each one whole file.
    mkdirSync(join(dir, 'plain'));
    for (const f of readdirSync(join(dir, 'ranges'))) if (f.endsWith('.mp4')) writeFileSync(join(dir, 'plain', f), readFileSync(join(dir, 'ranges', f)));
    writeFileSync(join(dir, 'plain', 'manifest.mpd'), ranges.replace(/<SegmentList[^>]*>[\s\S]*?<\/SegmentList>/g, ''));
    // Two video representations: the smaller one must never be fetched.
    dashLadder(clip, join(dir, 'ladder'));
    server = await serve(Object.assign({}, ...['number', 'time', 'list', 'ranges', 'base', 'plain', 'ladder'].map((name) => folderRoutes(dir, name))));
  },
});

const run = (path: string) => runToEnd(fx.runtime, { source: { type: 'http', url: server.url(path) } }, join(fx.dir, 'out'));
const hits = (prefix: string) => hitsUnder(server, prefix);

describe('DASH sources', () => {
  it('sanity: the SegmentBase manifest has no segment list left', () => {
    const text = readFileSync(join(fx.dir, 'base', 'manifest.mpd'), 'utf8');
    expect(text).toContain('<SegmentBase indexRange=');
    expect(text).not.toContain('SegmentList');
    const plain = readFileSync(join(fx.dir, 'plain', 'manifest.mpd'), 'utf8');
    expect(plain).toMatch(/<BaseURL>[^<]+\.mp4<\/BaseURL>/);
    expect(plain).not.toMatch(/SegmentList|SegmentBase|SegmentTemplate/);
  });

  const manifests = {
    'SegmentTemplate with $Number$': '/number/manifest.mpd',
    'SegmentTemplate with $Time$ (SegmentTimeline)': '/time/manifest.mpd',
    'SegmentList of files': '/list/manifest.mpd',
    'SegmentList of byte ranges': '/ranges/manifest.mpd',
    'SegmentBase (one indexed file per representation)': '/base/manifest.mpd',
    'one plain BaseURL per representation (no segment information)': '/plain/manifest.mpd',
  };
  it.each(Object.entries(manifests))('%s: video and audio fetched apart and merged into source.mp4 without re-encoding', async (_name, path) => {
    const result = await run(path);
    await expectCopiedSource(result, 'dash', SECONDS);
    // The audio came as its own stream and was handed to merge.
    expect(result.record.checkpoints.extract).toMatchObject({ audio: { key: expect.stringMatching(/original-audio$/) } });
  });

  it('takes the best video representation and never touches the smaller one', async () => {
    const { record, out } = await run('/ladder/manifest.mpd');
    expect(record.status).toBe('SUCCEEDED');
    expect(probeStreams(join(out, 'source.mp4')).find((s) => s.codec_type === 'video')).toMatchObject({ width: 320, height: 240 });
    expect(hits('/ladder/chunk-stream0')).toBeGreaterThanOrEqual(SECONDS);
    expect(hits('/ladder/chunk-stream1')).toBe(0);
    expect(hits('/ladder/init-stream1')).toBe(0);
  });
});
