import { PutObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobRecord } from '../../core/job.js';
import { runToEnd } from '../fixtures/jobs.js';
import { ff, makeClip, probeDuration, probeStreams } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import type { TestServer } from '../fixtures/server.js';
import { parseCues, wordErrorRate } from '../fixtures/subtitles.js';

const SPEECH =
  'The quick brown fox jumps over the lazy dog. Hello world, this is a test of speech recognition. ' +
  'We are reading a short story about a small boat on a quiet river.';
let media: TestServer;
const files: Record<string, string> = {};

const fx = withRuntime('media', {
  env: { MEDIA_INGEST_TRANSCRIBE_ENGINE: 'pocketsphinx' },
  setup: async ({ dir, serve }) => {
    const m = join(dir, 'media');
    files.speech = makeClip(m, 'speech.mp4', { speech: SPEECH });
    files.silent = makeClip(m, 'silent.mp4', { seconds: 2, audio: false });
    ff('-i', files.speech, '-vn', '-c:a', 'copy', (files.m4a = join(m, 'speech.m4a')));
    ff('-i', files.speech, '-vn', '-c:a', 'libmp3lame', '-b:a', '64k', (files.mp3 = join(m, 'speech.mp3')));
    ff('-f', 'lavfi', '-i', 'color=black:size=320x240:rate=25:duration=3', '-f', 'lavfi', '-i', 'testsrc2=duration=3:size=320x240:rate=25',
      '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', (files.dark = join(m, 'dark.mp4')));
    const full = readFileSync(files.speech);
    files.truncated = join(m, 'truncated.mp4');
    writeFileSync(files.truncated, full.subarray(0, Math.floor(full.length * 0.6)));
    media = await serve(Object.fromEntries(Object.entries(files).map(([k, f]) => [`/${k}`, { file: f, contentType: 'application/octet-stream' }])));
  },
});

const run = (name: string, actions = ['download', 'transcode', 'transcribe']) =>
  runToEnd(fx.runtime, { source: { type: 'http', url: media.url(`/${name}`) }, actions }, join(fx.dir, 'out'));
const names = (r: JobRecord) => r.artifacts.map((a) => a.name).sort();

describe('transcription with pocketsphinx', () => {
  let record: JobRecord;
  let out: string;
  beforeAll(async () => ({ record, out } = await run('speech')));

  it('recognises synthesised speech with a word error rate under 20 % (measured: 9.4 %)', async () => {
    expect(record.status).toBe('SUCCEEDED');
    const text = await readFile(join(out, 'transcript.txt'), 'utf8');
    const wer = wordErrorRate(SPEECH, text);
    process.stdout.write(`pocketsphinx WER on flite speech: ${(wer * 100).toFixed(1)} %\n`);
    expect(wer).toBeLessThan(0.2);
    expect(record.checkpoints.transcribe).toMatchObject({ engine: 'pocketsphinx', characters: text.length, realTimeFactor: expect.any(Number) });
  });

  it('writes SRT and VTT that parse back to the segments of transcript.json', async () => {
    const transcript = JSON.parse(await readFile(join(out, 'transcript.json'), 'utf8'));
    expect(transcript).toMatchObject({ engine: 'pocketsphinx', language: 'en' });
    const expected = transcript.segments.map((s: { start: number; end: number; text: string }) => ({ start: s.start, end: s.end, text: s.text }));
    expect(expected.length).toBeGreaterThan(0);
    expect(transcript.segments[0].words[0]).toEqual(expect.objectContaining({ text: expect.any(String), start: expect.any(Number), end: expect.any(Number) }));
    for (const file of ['transcript.srt', 'transcript.vtt']) {
      const cues = parseCues(await readFile(join(out, file), 'utf8'));
      expect(cues.map((c) => c.text)).toEqual(expected.map((s: { text: string }) => s.text));
      cues.forEach((c, i) => {
        expect(c.start).toBeCloseTo(expected[i].start, 3);
        expect(c.end).toBeCloseTo(expected[i].end, 3);
      });
    }
  });
});

describe('sources of every shape', () => {
  it('a source without audio: no audio.wav, transcription skipped with its reason, SUCCEEDED', async () => {
    const { record } = await run('silent');
    expect(record.status).toBe('SUCCEEDED');
    expect(names(record)).toEqual(['manifest.json', 'metadata.json', 'source.mp4', 'thumbnail.jpg']);
    expect(record.checkpoints.transcribe).toMatchObject({ skipped: 'no audio track' });
  });

  it.each(['m4a', 'mp3'])('an audio-only .%s: no thumbnail, audio.wav and a transcript', async (kind) => {
    const { record, out } = await run(kind);
    expect(record.status).toBe('SUCCEEDED');
    expect(names(record)).toEqual(['audio.wav', 'manifest.json', 'metadata.json', 'source.mp4', 'transcript.json', 'transcript.srt', 'transcript.txt', 'transcript.vtt']);
    expect(probeStreams(join(out, 'audio.wav'))[0]).toMatchObject({ channels: 1, sample_rate: '16000' });
    expect(wordErrorRate(SPEECH, await readFile(join(out, 'transcript.txt'), 'utf8'))).toBeLessThan(0.4);
  });

  it('a truncated MP4: FAILED with MergeFailed and the tail of ffmpeg\'s stderr', async () => {
    const { record } = await run('truncated');
    expect(record).toMatchObject({ status: 'FAILED', stage: 'merge', error: { code: 'MergeFailed' } });
    expect(record.error!.stderrTail!.length).toBeGreaterThan(0);
    expect(record.error!.stderrTail!.length).toBeLessThanOrEqual(10);
    expect(record.error!.stderrTail!.join('\n')).toMatch(/partial file|Invalid data|corrupt/i);
  });

  it('a video that opens on black: the thumbnail is a representative frame, not the black one', async () => {
    const { record, out } = await run('dark', ['download', 'transcode']);
    expect(record.status).toBe('SUCCEEDED');
    const yavg = execFileSync('ffprobe', ['-v', 'error', '-f', 'lavfi', '-i', `movie=${join(out, 'thumbnail.jpg')},signalstats`, '-show_entries', 'frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0']);
    expect(Number(yavg.toString().trim())).toBeGreaterThan(40);
    expect(probeStreams(join(out, 'thumbnail.jpg'))[0]).toMatchObject({ codec_name: 'mjpeg', width: 320 });
  });

  it('metadata.json follows its schema: container, streams, normalised source, processing', async () => {
    const jobId = await fx.runtime.submit({
      source: { type: 'http', url: media.url('/speech'), metadata: { title: 'A talk', uploader: 'Someone', upload_date: '20240131', id: 'abc123' } },
    });
    const record = await fx.runtime.finish(jobId);
    const out = join(fx.dir, 'out', jobId);
    await fx.runtime.download(record, out);
    const metadata = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    expect(metadata).toMatchObject({
      container: expect.stringContaining('mp4'),
      sizeBytes: statSync(join(out, 'source.mp4')).size,
      bitRate: expect.any(Number),
      source: { title: 'A talk', uploader: 'Someone', uploadDate: '2024-01-31', id: 'abc123', originalUrl: media.url('/speech') },
      processing: { path: 'copied', reason: null },
    });
    expect(metadata.durationSeconds).toBeCloseTo(probeDuration(files.speech!), 1);
  });

  it('writes audio.flac instead when MEDIA_INGEST_AUDIO_FORMAT=flac', async () => {
    await fx.runtime.reconfigure({}, { MEDIA_INGEST_AUDIO_FORMAT: 'flac' });
    const restore = () => fx.runtime.reconfigure({});
    try {
      const { record, out } = await run('speech');
      expect(record.status).toBe('SUCCEEDED');
      expect(names(record)).toContain('audio.flac');
      expect(names(record)).not.toContain('audio.wav');
      expect(probeStreams(join(out, 'audio.flac'))[0]).toMatchObject({ codec_name: 'flac', channels: 1, sample_rate: '16000' });
      expect((await readFile(join(out, 'transcript.txt'), 'utf8')).length).toBeGreaterThan(20);
    } finally {
      await restore();
    }
  });
});

describe('the OpenAI-compatible engine', () => {
  let api: TestServer;
  const seen: Array<{ auth?: string; model: string; format: string; bytes: number }> = [];
  let requests = 0;

  beforeAll(async () => {
    // A loopback server speaking POST /v1/audio/transcriptions: the first answer is 429, then verbose_json.
    api = await fx.serve({
      '/v1/audio/transcriptions': {
        receive: async (body, req, res) => {
          requests++;
          const form = await new Request('http://x', { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body }).formData();
          const file = form.get('file') as File;
          seen.push({ auth: req.headers.authorization, model: String(form.get('model')), format: String(form.get('response_format')), bytes: file.size });
          if (requests === 1) return void res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":"slow down"}');
          const seconds = (file.size - 44) / 32_000;
          const n = seen.length;
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              language: 'english',
              duration: seconds,
              segments: [{ start: 0.1, end: seconds - 0.1, text: ` chunk ${n}` }],
              words: [{ word: 'chunk', start: 0.1, end: 0.5 }, { word: String(n), start: 0.6, end: seconds - 0.1 }],
            }),
          );
        },
      },
    });
  });

  it('uploads in chunks, retries a 429 after Retry-After, and stitches the segments back on one clock', async () => {
    await fx.runtime.reconfigure({}, {
      MEDIA_INGEST_TRANSCRIBE_ENGINE: 'openai',
      MEDIA_INGEST_STT_BASE_URL: api.url('/v1'),
      MEDIA_INGEST_STT_API_KEY: 'sk-test',
      MEDIA_INGEST_STT_MODEL: 'whisper-large-v3',
      MEDIA_INGEST_STT_MAX_UPLOAD_BYTES: String(128 * 1024),
    });
    const restore = () => fx.runtime.reconfigure({});
    try {
      const started = Date.now();
      const { record, out } = await run('speech');
      expect(record.status).toBe('SUCCEEDED');
      const transcript = JSON.parse(await readFile(join(out, 'transcript.json'), 'utf8'));
      const duration = probeDuration(join(out, 'audio.wav'));
      // 128 KB at 32 KB/s: chunks of 3 s, so a recording this long needs several.
      const chunks = Math.ceil(duration / 3);
      expect(chunks).toBeGreaterThan(2);
      expect(transcript.engine).toBe('openai:whisper-large-v3');
      expect(transcript.segments.map((s: { text: string }) => s.text)).toEqual(Array.from({ length: chunks }, (_, i) => `chunk ${i + 2}`));
      // Each chunk's length as the server received it (the first upload was answered 429 and sent again).
      const lengths = seen.slice(1).map((r) => (r.bytes - 44) / 32_000);
      transcript.segments.forEach((s: { start: number; end: number; words: Array<{ start: number }> }, i: number) => {
        const offset = lengths.slice(0, i).reduce((a, b) => a + b, 0);
        expect(s.start).toBeCloseTo(offset + 0.1, 2);
        expect(s.end).toBeCloseTo(offset + lengths[i]! - 0.1, 2);
        expect(s.words[0]!.start).toBeCloseTo(offset + 0.1, 2);
      });
      expect(seen.every((r) => r.auth === 'Bearer sk-test' && r.model === 'whisper-large-v3' && r.format === 'verbose_json' && r.bytes <= 128 * 1024)).toBe(true);
      expect(requests).toBe(chunks + 1);
      expect(Date.now() - started).toBeGreaterThan(1000);
    } finally {
      await restore();
    }
  });
});

describe('the Amazon Transcribe engine', () => {
  let endpoint: TestServer;
  const calls: string[] = [];

  beforeAll(async () => {
    // A loopback endpoint speaking the two calls the engine makes; the "service" writes its result where asked.
    let polls = 0;
    endpoint = await fx.serve({
      '/': {
        receive: async (raw, req, res) => {
          const body = JSON.parse(raw.toString('utf8'));
          const target = String(req.headers['x-amz-target']);
          calls.push(target);
          const reply = (o: unknown) => res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(o));
          if (target === 'Transcribe.StartTranscriptionJob') {
            const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(body.Media.MediaFileUri)!;
            expect(key).toMatch(/^staging\/local\/.+\/audio\.wav$/);
            const result = {
              results: {
                language_code: 'en-US',
                items: [
                  { type: 'pronunciation', start_time: '0.2', end_time: '0.6', alternatives: [{ content: 'Hello', confidence: '0.99' }] },
                  { type: 'pronunciation', start_time: '0.7', end_time: '1.1', alternatives: [{ content: 'world', confidence: '0.98' }] },
                  { type: 'punctuation', alternatives: [{ content: '.' }] },
                  { type: 'pronunciation', start_time: '2.0', end_time: '2.4', alternatives: [{ content: 'Again', confidence: '0.97' }] },
                  { type: 'punctuation', alternatives: [{ content: '!' }] },
                ],
              },
            };
            await fx.runtime.s3.send(new PutObjectCommand({ Bucket: bucket, Key: body.OutputKey, Body: JSON.stringify(result) }));
            return reply({ TranscriptionJob: { TranscriptionJobName: body.TranscriptionJobName, TranscriptionJobStatus: 'IN_PROGRESS' } });
          }
          if (target === 'Transcribe.GetTranscriptionJob') {
            polls++;
            return reply({ TranscriptionJob: { TranscriptionJobName: body.TranscriptionJobName, TranscriptionJobStatus: polls < 2 ? 'IN_PROGRESS' : 'COMPLETED' } });
          }
          res.writeHead(400).end(JSON.stringify({ __type: 'UnknownOperationException' }));
        },
      },
    });
  });

  it('starts a job on the staged audio, polls it, and turns its result into segments with word times', async () => {
    await fx.runtime.reconfigure({}, {
      MEDIA_INGEST_TRANSCRIBE_ENGINE: 'aws',
      MEDIA_INGEST_TRANSCRIBE_LANGUAGE: 'en-US',
      MEDIA_INGEST_TRANSCRIBE_POLL_MS: '100',
      AWS_ENDPOINT_URL_TRANSCRIBE: endpoint.url(''),
    });
    const restore = () => fx.runtime.reconfigure({});
    try {
      const { record, out } = await run('speech');
      expect(record.status).toBe('SUCCEEDED');
      expect(calls).toEqual(['Transcribe.StartTranscriptionJob', 'Transcribe.GetTranscriptionJob', 'Transcribe.GetTranscriptionJob']);
      const transcript = JSON.parse(await readFile(join(out, 'transcript.json'), 'utf8'));
      expect(transcript).toMatchObject({
        engine: 'aws-transcribe',
        language: 'en-US',
        segments: [
          { start: 0.2, end: 1.1, text: 'Hello world.', words: [{ text: 'Hello', start: 0.2, end: 0.6 }, { text: 'world', start: 0.7, end: 1.1 }] },
          { start: 2.0, end: 2.4, text: 'Again!' },
        ],
      });
      expect(await readFile(join(out, 'transcript.srt'), 'utf8')).toContain('00:00:00,200 --> 00:00:01,100\nHello world.');
    } finally {
      await restore();
    }
  });
});
