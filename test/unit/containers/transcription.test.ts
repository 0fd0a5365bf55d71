import { parsePocketsphinx } from '../../../containers/media-worker/transcription/pocketsphinx.js';
import { splitLongSegments, toSrt, toText, toVtt, type Transcript } from '../../../containers/media-worker/transcription/transcript.js';

const OUTPUT = `the quick brown fox
<s> 0.070 0.110 0.999700
the 0.120 0.340 0.881249
quick 0.350 0.640 0.994316
brown(2) 0.650 1.100 0.999800
<sil> 1.110 1.200 0.9
fox 1.210 1.500 0.999800
</s> 1.510 1.560 1.000000
hello
<s> 61.000 61.100 1.0
[NOISE] 61.100 61.200 1.0
hello 61.200 61.700 0.7
</s> 61.700 61.800 1.0
`;

describe('pocketsphinx output', () => {
  it('becomes one segment per utterance, with word times and without fillers', () => {
    const segments = parsePocketsphinx(OUTPUT);
    expect(segments.map((s) => s.text)).toEqual(['the quick brown fox', 'hello']);
    expect(segments[0]).toMatchObject({ start: 0.12, end: 1.5 });
    expect(segments[0]!.words!.map((w) => w.text)).toEqual(['the', 'quick', 'brown', 'fox']);
    expect(segments[1]).toMatchObject({ start: 61.2, end: 61.7 });
  });
});

describe('transcript formats', () => {
  const transcript: Transcript = {
    engine: 'test',
    language: 'en',
    durationSeconds: 70,
    segments: [
      { start: 0.12, end: 1.5, text: 'the quick brown fox' },
      { start: 3661.2, end: 3661.7, text: 'hello' },
    ],
  };

  it('writes SRT with comma milliseconds and hour fields', () => {
    expect(toSrt(transcript)).toBe('1\n00:00:00,120 --> 00:00:01,500\nthe quick brown fox\n\n2\n01:01:01,200 --> 01:01:01,700\nhello\n');
  });

  it('writes WebVTT with its header and dot milliseconds', () => {
    expect(toVtt(transcript)).toBe('WEBVTT\n\n00:00:00.120 --> 00:00:01.500\nthe quick brown fox\n\n01:01:01.200 --> 01:01:01.700\nhello\n');
  });

  it('writes plain text one segment per line', () => {
    expect(toText(transcript)).toBe('the quick brown fox\nhello\n');
  });
});

describe('long segments', () => {
  it('are split at word boundaries into cues of at most 7 seconds', () => {
    const words = Array.from({ length: 40 }, (_, i) => ({ text: `w${i}`, start: i * 0.5, end: i * 0.5 + 0.4 }));
    const cues = splitLongSegments([{ start: 0, end: 19.9, text: words.map((w) => w.text).join(' '), words }]);
    expect(cues.length).toBe(3);
    for (const c of cues) expect(c.end - c.start).toBeLessThanOrEqual(7);
    expect(cues.flatMap((c) => c.text.split(' '))).toEqual(words.map((w) => w.text));
    expect(cues[1]!.start).toBe(cues[1]!.words![0]!.start);
  });

  it('are kept whole when the engine gave no word times', () => {
    const long = { start: 0, end: 30, text: 'no words here' };
    expect(splitLongSegments([long])).toEqual([long]);
  });
});
