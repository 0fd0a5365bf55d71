import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { copyFileSync, truncateSync, statSync } from 'node:fs';
import { whyNotAsIs } from '../../containers/media-worker/steps/as-is.js';
import { makeSourceMp4 } from '../../containers/media-worker/steps/merge.js';
import { ffprobe } from '../../containers/media-worker/tools/ffmpeg.js';
import { ff, makeClip, probeDuration, probeStreams } from '../fixtures/media.js';
import { withScratch } from '../fixtures/runtime.js';

const codecs = (path: string) => probeStreams(path).map((s) => `${s.codec_type}:${s.codec_name}`).sort();

const scratch = withScratch('merge', {
  setup: ({ dir }) => {
    ff('-f', 'lavfi', '-i', 'testsrc2=duration=3:size=320x240:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', join(dir, 'video.mp4'));
    ff('-f', 'lavfi', '-i', 'sine=duration=3', '-c:a', 'aac', join(dir, 'audio.m4a'));
    ff('-f', 'lavfi', '-i', 'testsrc2=duration=2:size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=duration=2', '-c:v', 'libvpx', '-b:v', '500k', '-c:a', 'libvorbis', '-shortest', join(dir, 'old.webm'));
  },
});

describe('making source.mp4', () => {
  it('muxes separate video and audio streams without re-encoding', async () => {
    const out = join(scratch.dir, 'joined.mp4');
    expect(await makeSourceMp4([join(scratch.dir, 'video.mp4'), join(scratch.dir, 'audio.m4a')], out, 60_000)).toEqual({ path: 'remuxed', reason: null });
    expect(codecs(out)).toEqual(['audio:aac', 'video:h264']);
    expect(probeDuration(out)).toBeCloseTo(3, 0);
    // +faststart: the moov box comes before the media data.
    const head = execFileSync('head', ['-c', '4096', out]).toString('latin1');
    expect(head.indexOf('moov')).toBeGreaterThan(0);
    expect(head.indexOf('moov')).toBeLessThan(head.indexOf('mdat') === -1 ? Infinity : head.indexOf('mdat'));
  });

  it('re-encodes only codecs MP4 cannot hold (VP8 + Vorbis), and says why', async () => {
    const out = join(scratch.dir, 'converted.mp4');
    const result = await makeSourceMp4([join(scratch.dir, 'old.webm')], out, 60_000);
    expect(result.path).toBe('reencoded');
    expect(result.reason).toMatch(/cannot be copied into MP4/);
    expect(codecs(out)).toEqual(['audio:aac', 'video:h264']);
  });
});

describe('an original that already is source.mp4', () => {
  const why = async (path: string) => whyNotAsIs(path, await ffprobe(path, 60_000));

  it('is a faststart MP4 with one H.264 video and one AAC audio', async () => {
    expect(await why(makeClip(join(scratch.dir, 'as-is'), 'faststart.mp4', { seconds: 2 }))).toBeNull();
  });

  it('is not an MP4 whose index comes after its media data', async () => {
    // ffmpeg writes the moov box at the end unless told +faststart.
    expect(await why(join(scratch.dir, 'video.mp4'))).toBe('its index (moov) comes after the media data');
  });

  it('is not a WebM, nor an MP4 with a second audio stream, nor a truncated one', async () => {
    expect(await why(join(scratch.dir, 'old.webm'))).toMatch(/not MP4$/);
    const two = join(scratch.dir, 'two-audio.mp4');
    ff('-i', join(scratch.dir, 'video.mp4'), '-i', join(scratch.dir, 'audio.m4a'), '-map', '0:v', '-map', '1:a', '-map', '1:a', '-c', 'copy', '-movflags', '+faststart', two);
    expect(await why(two)).toBe('the original has more than one audio stream');
    const cut = join(scratch.dir, 'cut.mp4');
    copyFileSync(makeClip(join(scratch.dir, 'as-is'), 'whole.mp4', { seconds: 2 }), cut);
    truncateSync(cut, statSync(cut).size - 1000);
    expect(await why(cut)).toMatch(/do not fill the file/);
  });
});

