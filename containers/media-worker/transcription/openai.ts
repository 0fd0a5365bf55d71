import { mkdir, stat } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { FormData } from 'undici';
import { z } from 'zod';
import type { Config } from '../../../core/config.js';
import { TranscriptionFailedError } from '../../../core/errors.js';
import { safeFetch } from '../../../core/http.js';
import { backoffMs, retry, retryAfterMs } from '../../../core/retry.js';
import { splitAudio, type Chunk } from './chunks.js';
import type { Segment, TranscriptionEngine, Word } from './transcript.js';

const VerboseJsonSchema = z.object({
  language: z.string().optional(),
  segments: z.array(z.object({ start: z.number(), end: z.number(), text: z.string() })).default([]),
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() })).optional(),
});

/** One chunk through `POST {base}/audio/transcriptions`, retried on 429 and 5xx, waiting what Retry-After asks. */
async function transcribeChunk(config: Config, chunk: Chunk): Promise<z.infer<typeof VerboseJsonSchema>> {
  const url = `${config.MEDIA_INGEST_STT_BASE_URL.replace(/\/+$/, '')}/audio/transcriptions`;
  // The wait the last refusal asked for, if any.
  let retryAfter: string | null = null;
  let retryable = false;
  return retry(
    async (attempt) => {
      const form = new FormData();
      form.set('file', await openAsBlob(chunk.path, { type: 'audio/wav' }), 'audio.wav');
      form.set('model', config.MEDIA_INGEST_STT_MODEL);
      form.set('response_format', 'verbose_json');
      form.append('timestamp_granularities[]', 'segment');
      form.append('timestamp_granularities[]', 'word');
      if (config.MEDIA_INGEST_TRANSCRIBE_LANGUAGE) form.set('language', config.MEDIA_INGEST_TRANSCRIBE_LANGUAGE.slice(0, 2));
      retryable = false;
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
      retryable = response.status === 429 || response.status >= 500;
      retryAfter = response.headers.get('retry-after');
      throw new TranscriptionFailedError(`the speech-to-text API answered HTTP ${response.status} after ${attempt} attempt(s): ${detail}`);
    },
    {
      attempts: config.MEDIA_INGEST_STT_ATTEMPTS,
      retryable: () => retryable,
      delayMs: (attempt) => retryAfterMs(retryAfter) ?? backoffMs(attempt, 500, 30_000),
    },
  );
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
