import { join } from 'node:path';
import { ff } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import type { TestServer } from '../fixtures/server.js';

let server: TestServer;
let secret = '';

/** A DASH manifest whose one representation is a file on this machine, `before` the `<MPD`. */
const mpd = (before: string) => `${before}<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S"
 minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period><AdaptationSet mimeType="video/mp2t">
<Representation id="1" bandwidth="100000"><BaseURL>file:${secret}</BaseURL></Representation></AdaptationSet></Period></MPD>
`;

/** Manifests, playlists and concat lists in disguise, served as `clip.mp4`, each naming a video on this machine. */
const fx = withRuntime('disguise', {
  setup: async ({ dir, serve }) => {
    secret = join(dir, 'secret.ts');
    ff('-f', 'lavfi', '-i', 'testsrc2=duration=2:size=160x120:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mpegts', secret);
    const asMp4 = (body: string) => ({ status: 200, contentType: 'video/mp4', body });
    server = await serve({
      // A comment longer than classify's sniff reads used to hide the manifest from it (ffmpeg's probe looks anywhere).
      '/comment.mp4': asMp4(mpd(`<!-- ${'é'.repeat(1500)} -->\n`)),
      // Past the first 4 KiB that classify and validation read: only ffmpeg's demuxer whitelist stands in the way.
      '/deep.mp4': asMp4(mpd(`<!-- ${'é'.repeat(4000)} -->\n`)),
      '/playlist.mp4': asMp4(`#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2.0,\nfile:${secret}\n#EXT-X-ENDLIST\n`),
      '/concat.mp4': asMp4(`ffconcat version 1.0\nfile '${secret}'\n`),
    });
  },
});

const run = async (path: string) => fx.runtime.finish(await fx.runtime.submit({ source: { type: 'http', url: server.url(path) } }));

describe('a manifest, playlist or concat list in disguise', () => {
  it.each([
    ['a DASH manifest behind a long comment is routed as DASH, which refuses a representation with no segments', '/comment.mp4', 'classify', 'UnsupportedSource'],
    ['a DASH manifest past the first 4 KiB is opened by ffprobe as media only, and refused', '/deep.mp4', 'extract', 'NotMedia'],
    ['an HLS playlist with a file: segment has the segment refused by the egress policy', '/playlist.mp4', 'extract', 'UnsafeUrl'],
    ['an ffconcat list is refused as text', '/concat.mp4', 'classify', 'NotMedia'],
  ])('%s: the job fails with nothing published', async (_what, path, stage, code) => {
    const record = await run(path);
    expect(record).toMatchObject({ status: 'FAILED', stage, error: { code } });
    expect(record.artifacts).toEqual([]);
    expect(record.checkpoints.merge).toBeUndefined();
  });
});
