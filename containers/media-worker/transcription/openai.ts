import { mkdir, stat } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FormData } from 'undici';
import { z } from 'zod';
import type { Config } from '../../../core/config.js';
import { TranscriptionFailedError } from '../../../core/errors.js';
import { safeFetch } from '../../../core/http.js';
import { splitAudio, type Chunk } from './chunks.js';
import type { Segment, TranscriptionEngine, Word } from './transcript.js';

const VerboseJsonSchema = z.object({
  language: z.string().optional(),
  segments: z.array(z.object({ start: z.number(), end: z.number(), text: z.string() })).default([]),
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() })).optional(),
});

/** Seconds to wait before the next try: the server's Retry-After (seconds or a date) when it gives one. */
export function retryDelayMs(retryAfter: string | null, attempt: number): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
  }
  return Math.min(30_000, 500 * 2 ** attempt);
}

/** One chunk through `POST {base}/audio/transcriptions`, retried on 429 and 5xx. */
async function transcribeChunk(config: Config, chunk: Chunk): Promise<z.infer<typeof VerboseJsonSchema>> {
  const url = `${config.MEDIA_INGEST_STT_BASE_URL.replace(/\/+$/, '')}/audio/transcriptions`;
  for (let attempt = 0; ; attempt++) {
    const form = new FormData();
    form.set('file', await openAsBlob(chunk.path, { type: 'audio/wav' }), 'audio.wav');
    form.set('model', config.MEDIA_INGEST_STT_MODEL);
    form.set('response_format', 'verbose_json');
    form.append('timestamp_granularities[]', 'segment');
    form.append('timestamp_granularities[]', 'word');
    if (config.MEDIA_INGEST_TRANSCRIBE_LANGUAGE) form.set('language', config.MEDIA_INGEST_TRANSCRIBE_LANGUAGE.slice(0, 2));
    const { response } = await safeFetch(config, url, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.MEDIA_INGEST_STT_API_KEY ?? ''}` },
      body: form,
    });
    if (response.ok) {
      const parsed = VerboseJsonSchema.safeParse(await response.json());
      if (!parsed.success) throw new TranscriptionFailedError('the speech-to-text API answered with an unexpected body');
      return parsed.data;
    }
    const detail = (await response.text()).slice(0, 300);
    const retryable = response.status === 429 || response.status >= 500;
    if (!retryable || attempt + 1 >= config.MEDIA_INGEST_STT_ATTEMPTS) {
      throw new TranscriptionFailedError(`the speech-to-text API answered HTTP ${response.status} after ${attempt + 1} attempt(s): ${detail}`);
    }
    await sleep(retryDelayMs(response.headers.get('retry-after'), attempt));
  }
}

/**
 * An OpenAI-compatible speech-to-text API (OpenAI, Groq Whisper, …): audio above the upload limit is sent in
 * chunks, and their segments and words are put back on the recording's clock.
 */
export function openAiEngine(config: Config, scratch: string): TranscriptionEngine {
  return {
    name: `openai:${config.MEDIA_INGEST_STT_MODEL}`,
    async transcribe(audioPath, { timeoutMs }) {
      if (!config.MEDIA_INGEST_STT_API_KEY) throw new TranscriptionFailedError('MEDIA_INGEST_STT_API_KEY is not set');
      let chunks: Chunk[] = [{ path: audioPath, offset: 0 }];
      if ((await stat(audioPath)).size > config.MEDIA_INGEST_STT_MAX_UPLOAD_BYTES) {
        const dir = join(scratch, 'chunks');
        await mkdir(dir, { recursive: true });
        chunks = await splitAudio(audioPath, dir, config.MEDIA_INGEST_STT_MAX_UPLOAD_BYTES, timeoutMs);
      }
      const segments: Segment[] = [];
      let language = config.MEDIA_INGEST_TRANSCRIBE_LANGUAGE ?? 'und';
      for (const chunk of chunks) {
        const result = await transcribeChunk(config, chunk);
        language = result.language ?? language;
        const words: Word[] = (result.words ?? []).map((w) => ({ text: w.word.trim(), start: w.start + chunk.offset, end: w.end + chunk.offset }));
        for (const s of result.segments) {
          const start = s.start + chunk.offset;
          const end = s.end + chunk.offset;
          const inside = words.filter((w) => w.start >= start - 0.01 && w.end <= end + 0.01);
          segments.push({ start, end, text: s.text.trim(), ...(inside.length ? { words: inside } : {}) });
        }
      }
      return { engine: `openai:${config.MEDIA_INGEST_STT_MODEL}`, language, segments };
    },
  };
}
