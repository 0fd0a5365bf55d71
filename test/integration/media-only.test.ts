import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractAudio, makeSourceMp4 } from '../../containers/media-worker/steps/merge.js';
import { validateMedia } from '../../containers/media-worker/steps/validate.js';
import { ff } from '../fixtures/media.js';
import { withScratch } from '../fixtures/runtime.js';

const scratch = withScratch('media-only', {
  setup: ({ dir }) => {
    ff('-f', 'lavfi', '-i', 'testsrc2=duration=2:size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine=duration=2',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', '-f', 'mpegts', join(dir, 'secret.ts'));
  },
});

/** A download that is a DASH manifest past the 4 KiB our own sniff reads, naming a video on this machine. */
function disguisedManifest(name: string): string {
  const path = join(scratch.dir, name);
  writeFileSync(path, `<!-- ${'é'.repeat(4000)} -->
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S" minBufferTime="PT1S"
 profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period><AdaptationSet mimeType="video/mp2t"><Representation id="1"
 bandwidth="100000"><BaseURL>file:${join(scratch.dir, 'secret.ts')}</BaseURL></Representation></AdaptationSet></Period></MPD>
`);
  return path;
}

const limits = { minBytes: 1024, maxDurationSeconds: 3600, timeoutMs: 30_000 };

describe('a local file is opened by ffprobe and ffmpeg as media only', () => {
  it('reads the host file through a disguised manifest when ffprobe guesses the format (why the whitelist is there)', () => {
    const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name', '-of', 'csv=p=0', disguisedManifest('premise.mp4')]);
    expect(out.toString().trim()).toBe('dash');
  });

  it('refuses that download as NotMedia in validation', async () => {
    await expect(validateMedia(disguisedManifest('original'), limits)).rejects.toMatchObject({ name: 'NotMedia' });
  });

  it('never makes source.mp4 or audio.wav of it', async () => {
    const manifest = disguisedManifest('merge-input');
    await expect(makeSourceMp4([manifest], join(scratch.dir, 'source.mp4'), 30_000)).rejects.toThrow(/ffmpeg exited/);
    await expect(extractAudio(manifest, join(scratch.dir, 'audio.wav'), 'wav', 30_000)).rejects.toThrow(/ffmpeg exited/);
  });

  it('still opens real media', async () => {
    const probe = await validateMedia(join(scratch.dir, 'secret.ts'), limits);
    expect(probe.format.format_name).toBe('mpegts');
  });
});
