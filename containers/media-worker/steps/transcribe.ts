import { parseInput } from '../../../core/input.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TranscriptionFailedError } from '../../../core/errors.js';
import { type FileRef, MergeCheckpointSchema, type TranscribeCheckpoint } from '../../../core/job.js';
import { ARTIFACT_NAMES, ARTIFACT_TYPES, stagingKey } from '../../../core/storage.js';
import type { StepContext } from '../context.js';
import { bringStaged } from '../cache.js';
import { uploadFile } from '../staging.js';
import { ToolError, toolFailure } from '../tools/run.js';
import { logger } from '../../../core/logger.js';
import { pocketsphinxEngine } from '../transcription/pocketsphinx.js';
import { splitLongSegments, toSrt, toText, toVtt, type Transcript, type TranscriptionEngine } from '../transcription/transcript.js';
import { awsTranscribeEngine } from '../transcription/aws.js';
import { openAiEngine } from '../transcription/openai.js';

type EngineName = StepContext['config']['MEDIA_INGEST_TRANSCRIBE_ENGINE'][number];

/** An engine by its configured name. */
function engineFor(ctx: StepContext, name: EngineName, audioKey: string): TranscriptionEngine {
  const { config, input } = ctx;
  switch (name) {
    case 'openai':
      return openAiEngine(config, ctx.scratch);
    case 'aws':
      return awsTranscribeEngine(config, ctx.s3, {
        bucket: ctx.stagingBucket,
        audioKey,
        outputKey: stagingKey(input.tenant, input.jobId, 'aws-transcribe.json'),
      });
    case 'pocketsphinx':
      return pocketsphinxEngine(config.POCKETSPHINX_MODEL_DIR, ctx.scratch);
  }
}

/** Runs the configured engines in their order: the next one runs when one fails; the last failure is the step's. */
async function firstThatWorks(ctx: StepContext, audioKey: string, path: string) {
  const names = ctx.config.MEDIA_INGEST_TRANSCRIBE_ENGINE;
  const failures: string[] = [];
  for (const [i, name] of names.entries()) {
    const engine = engineFor(ctx, name, audioKey);
    try {
      return { recognised: await engine.transcribe(path, { timeoutMs: ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS }), engine };
    } catch (err) {
      const message = `${engine.name}: ${(err as Error).message}`;
      failures.push(message);
      if (i < names.length - 1) {
        logger.warn('transcription engine failed; trying the next', { engine: name, error: message });
        continue;
      }
      if (err instanceof ToolError) throw toolFailure(TranscriptionFailedError, failures.join('; '), err);
      // One engine keeps its own error (and code); after a fallback, the record says what each engine hit.
      if (names.length === 1) throw err;
      throw new TranscriptionFailedError(failures.join('; '), { cause: err });
    }
  }
  throw new TranscriptionFailedError('no transcription engine is configured');
}

/** Writes transcript.json, .txt, .srt and .vtt from the audio; a source without audio is skipped, with the reason. */
export async function transcribe(ctx: StepContext): Promise<TranscribeCheckpoint> {
  const started = Date.now();
  const merged = parseInput(MergeCheckpointSchema, ctx.input.checkpoints.merge, 'checkpoints.merge', TranscriptionFailedError);
  const audioName = [ARTIFACT_NAMES.audio, ARTIFACT_NAMES.audioFlac].find((n) => merged.files[n]);
  if (!audioName) {
    return { files: {}, skipped: 'no audio track', characters: 0, bytes: 0, durationMs: Date.now() - started };
  }
  const audio = merged.files[audioName]!;
  const local = (name: string) => join(ctx.scratch, name);
  await bringStaged(ctx.s3, ctx.stagingBucket, ctx.cache, audio, local(audioName));
  const { recognised, engine } = await firstThatWorks(ctx, audio.key, local(audioName));
  const transcript: Transcript = { ...recognised, segments: splitLongSegments(recognised.segments), durationSeconds: merged.durationSeconds };
  const outputs: Array<[keyof typeof ARTIFACT_TYPES, string]> = [
    [ARTIFACT_NAMES.transcriptJson, JSON.stringify(transcript, null, 2)],
    [ARTIFACT_NAMES.transcriptTxt, toText(transcript)],
    [ARTIFACT_NAMES.transcriptSrt, toSrt(transcript)],
    [ARTIFACT_NAMES.transcriptVtt, toVtt(transcript)],
  ];
  const files: Record<string, FileRef> = {};
  for (const [name, content] of outputs) {
    await writeFile(local(name), content);
    files[name] = await uploadFile(ctx.s3, ctx.stagingBucket, stagingKey(ctx.input.tenant, ctx.input.jobId, name), local(name), ARTIFACT_TYPES[name]);
  }
  const elapsed = Date.now() - started;
  return {
    files,
    engine: engine.name,
    characters: toText(transcript).length,
    realTimeFactor: transcript.durationSeconds > 0 ? Math.round((elapsed / 1000 / transcript.durationSeconds) * 1000) / 1000 : undefined,
    bytes: Object.values(files).reduce((n, f) => n + f.bytes, 0),
    durationMs: elapsed,
  };
}
