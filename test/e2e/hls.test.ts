import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectCopiedSource, runToEnd } from '../fixtures/jobs.js';
import { ff, hls, keyframedClip, probeDuration, probeStreams } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import { folderRoutes, hitsUnder, type TestServer } from '../fixtures/server.js';

const SECONDS = 8;
let server: TestServer;

const fx = withRuntime('hls', {
  setup: async ({ dir, serve }) => {
    const high = keyframedClip(join(dir, 'high.mp4'), SECONDS, '320x240');
    const low = keyframedClip(join(dir, 'low.mp4'), SECONDS, '160x120');
    hls(high, join(dir, 'ts'));
    hls(low, join(dir, 'low'));
    // One file, each segment an EXT-X-BYTERANGE of it.
    mkdirSync(join(dir, 'single'));
    ff('-i', high, '-c', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod', '-hls_flags', 'single_file', join(dir, 'single', 'index.m3u8'));
    hls(high, join(dir, 'fmp4'), ['-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4']);
    mkdirSync(join(dir, 'enc'));
    writeFileSync(join(dir, 'enc', 'k.key'), Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
    writeFileSync(join(dir, 'keyinfo'), `k.key\n${join(dir, 'enc', 'k.key')}\n`);
    hls(high, join(dir, 'enc'), ['-hls_key_info_file', join(dir, 'keyinfo')]);
    // Two clips whose timestamps jump back (the first starts at 100 s, the second at 0), a discontinuity between them:
    // appended as bytes they would be a corrupt stream.
    mkdirSync(join(dir, 'disc'));
    ff('-i', low, '-c', 'copy', '-output_ts_offset', '100', '-f', 'mpegts', join(dir, 'disc', 'a.ts'));
    ff('-i', low, '-c', 'copy', '-f', 'mpegts', join(dir, 'disc', 'b.ts'));
    writeFileSync(
      join(dir, 'disc', 'index.m3u8'),
      `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:${SECONDS}\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:${SECONDS}.0,\na.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:${SECONDS}.0,\nb.ts\n#EXT-X-ENDLIST\n`,
    );
    // A master whose variant carries video only, with the audio as a rendition of its own (EXT-X-MEDIA TYPE=AUDIO).
    mkdirSync(join(dir, 'alt'));
    ff('-i', high, '-map', '0:v', '-map', '0:a', '-c', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod',
      '-var_stream_map', 'v:0,agroup:aud a:0,agroup:aud,default:yes', '-master_pl_name', 'master.m3u8',
      '-hls_segment_filename', join(dir, 'alt', '%v-seg%03d.ts'), join(dir, 'alt', '%v.m3u8'));
    mkdirSync(join(dir, 'master'));
    writeFileSync(
      join(dir, 'master', 'master.m3u8'),
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=160x120\n../low/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x240\n../ts/index.m3u8\n',
    );
    server = await serve(Object.assign({}, ...['ts', 'low', 'fmp4', 'enc', 'master', 'disc', 'alt', 'single'].map((name) => folderRoutes(dir, name))));
  },
});

const run = (path: string) => runToEnd(fx.runtime, { source: { type: 'http', url: server.url(path) } }, join(fx.dir, 'out'));
const hits = (prefix: string) => hitsUnder(server, prefix);

describe('HLS sources', () => {
  it.each([
    ['MPEG-TS segments', '/ts/index.m3u8'],
    ['fragmented MP4 segments behind EXT-X-MAP', '/fmp4/index.m3u8'],
    ['AES-128 encrypted segments', '/enc/index.m3u8'],
    ['byte-range segments of one file (EXT-X-BYTERANGE)', '/single/index.m3u8'],
  ])('%s become one source.mp4 without re-encoding, as long as the source', async (_name, path) => {
    await expectCopiedSource(await run(path), 'hls', SECONDS);
  });

  it('sanity: the single-file playlist addresses its segments by EXT-X-BYTERANGE', () => {
    expect(readFileSync(join(fx.dir, 'single', 'index.m3u8'), 'utf8')).toMatch(/#EXT-X-BYTERANGE:\d+@\d+/);
  });

  it('fetches each AES-128 key once, not once per segment', () => {
    expect(server.hits.get('/enc/k.key')).toBe(1);
    expect(hits('/enc/seg')).toBeGreaterThanOrEqual(SECONDS);
  });

  it('joins segments across a discontinuity whose timestamps jump back, without a gap', async () => {
    const { record, out } = await run('/disc/index.m3u8');
    expect(record.error).toBeNull();
    expect(Math.abs(probeDuration(join(out, 'source.mp4')) - 2 * SECONDS)).toBeLessThan(0.5);
    expect(Math.abs(probeDuration(join(out, 'audio.wav')) - 2 * SECONDS)).toBeLessThan(0.5);
  });

  it('fetches an audio rendition served apart with its variant and muxes both without re-encoding', async () => {
    expect(readFileSync(join(fx.dir, 'alt', 'master.m3u8'), 'utf8')).toMatch(/#EXT-X-MEDIA:TYPE=AUDIO.*URI=/);
    const { record, out } = await run('/alt/master.m3u8');
    expect(record.error).toBeNull();
    expect(record.checkpoints.extract).toMatchObject({ audio: { key: expect.stringMatching(/original-audio$/) } });
    expect(probeStreams(join(out, 'source.mp4')).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(Math.abs(probeDuration(join(out, 'audio.wav')) - SECONDS)).toBeLessThan(0.3);
  });

  it('takes the larger variant of a master playlist and never touches the other', async () => {
    const before = hits('/low/');
    const { record, out } = await run('/master/master.m3u8');
    expect(record.status).toBe('SUCCEEDED');
    expect(probeStreams(join(out, 'source.mp4')).find((s) => s.codec_type === 'video')).toMatchObject({ width: 320, height: 240 });
    expect(hits('/low/')).toBe(before);
  });
});
