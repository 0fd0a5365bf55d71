import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetTranscriptionJobCommand, StartTranscriptionJobCommand, TranscribeClient } from '@aws-sdk/client-transcribe';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Config } from '../../../core/config.js';
import { TranscriptionFailedError } from '../../../core/errors.js';
import type { Segment, TranscriptionEngine, Word } from './transcript.js';

const ItemSchema = z.object({
  type: z.enum(['pronunciation', 'punctuation']),
  start_time: z.string().optional(),
  end_time: z.string().optional(),
  alternatives: z.array(z.object({ content: z.string(), confidence: z.string().optional() })).min(1),
});
const ResultSchema = z.object({
  results: z.object({
    language_code: z.string().optional(),
    items: z.array(ItemSchema).default([]),
    audio_segments: z
      .array(z.object({ transcript: z.string(), start_time: z.string(), end_time: z.string(), items: z.array(z.number()).default([]) }))
      .optional(),
  }),
});

/** Amazon Transcribe's output → segments (its audio_segments, else sentences split at . ? !), with word times. */
export function parseTranscribeResult(json: unknown): { language?: string; segments: Segment[] } {
  const { results } = ResultSchema.parse(json);
  const words: Array<Word | null> = results.items.map((item) =>
    item.type === 'pronunciation'
      ? { text: item.alternatives[0]!.content, start: Number(item.start_time), end: Number(item.end_time), confidence: Number(item.alternatives[0]!.confidence ?? 1) }
      : null,
  );
  if (results.audio_segments?.length) {
    return {
      language: results.language_code,
      segments: results.audio_segments.map((s) => {
        const inside = s.items.map((i) => words[i]).filter((w): w is Word => !!w);
        return { start: Number(s.start_time), end: Number(s.end_time), text: s.transcript.trim(), ...(inside.length ? { words: inside } : {}) };
      }),
    };
  }
  const segments: Segment[] = [];
  let current: { words: Word[]; text: string } = { words: [], text: '' };
  results.items.forEach((item, i) => {
    const content = item.alternatives[0]!.content;
    if (item.type === 'pronunciation') {
      current.words.push(words[i]!);
      current.text += (current.text ? ' ' : '') + content;
    } else {
      current.text += content;
    }
    if (item.type === 'punctuation' && /[.?!]/.test(content) && current.words.length) {
      segments.push({ start: current.words[0]!.start, end: current.words.at(-1)!.end, text: current.text, words: current.words });
      current = { words: [], text: '' };
    }
  });
  if (current.words.length) segments.push({ start: current.words[0]!.start, end: current.words.at(-1)!.end, text: current.text, words: current.words });
  return { language: results.language_code, segments };
}

export interface AwsTranscribeTarget {
  bucket: string;
  /** The staged audio Transcribe reads. */
  audioKey: string;
  /** Where Transcribe writes its JSON (inside staging). */
  outputKey: string;
}

/** Amazon Transcribe, for AWS deployments: start a job on the staged audio, poll it, read its result from S3. */
export function awsTranscribeEngine(config: Config, s3: S3Client, target: AwsTranscribeTarget): TranscriptionEngine {
  const client = new TranscribeClient({ region: config.AWS_REGION });
  return {
    name: 'aws-transcribe',
    async transcribe(audioPath, { timeoutMs }) {
      const name = `media-ingest-${randomUUID()}`;
      const language = config.MEDIA_INGEST_TRANSCRIBE_LANGUAGE;
      await client.send(
        new StartTranscriptionJobCommand({
          TranscriptionJobName: name,
          Media: { MediaFileUri: `s3://${target.bucket}/${target.audioKey}` },
          MediaFormat: audioPath.endsWith('.flac') ? 'flac' : 'wav',
          ...(language ? { LanguageCode: language as never } : { IdentifyLanguage: true }),
          OutputBucketName: target.bucket,
          OutputKey: target.outputKey,
        }),
      );
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { TranscriptionJob: job } = await client.send(new GetTranscriptionJobCommand({ TranscriptionJobName: name }));
        if (job?.TranscriptionJobStatus === 'COMPLETED') break;
        if (job?.TranscriptionJobStatus === 'FAILED') throw new TranscriptionFailedError(`Amazon Transcribe failed: ${job.FailureReason ?? 'no reason given'}`);
        if (Date.now() > deadline) throw new TranscriptionFailedError(`Amazon Transcribe did not finish within ${timeoutMs} ms`);
        await sleep(config.MEDIA_INGEST_TRANSCRIBE_POLL_MS);
      }
      const out = await s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: target.outputKey }));
      const parsed = parseTranscribeResult(JSON.parse(await out.Body!.transformToString()));
      return { engine: 'aws-transcribe', language: parsed.language ?? language ?? 'und', segments: parsed.segments };
    },
  };
}
