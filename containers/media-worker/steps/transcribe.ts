import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TranscriptionFailedError } from '../../../core/errors.js';
import { type FileRef, MergeCheckpointSchema, type TranscribeCheckpoint } from '../../../core/job.js';
import { ARTIFACT_NAMES, stagingKey } from '../../../core/storage.js';
import type { StepContext } from '../context.js';
import { downloadFile, uploadFile } from '../staging.js';
import { ToolError } from '../tools/run.js';
import { pocketsphinxEngine } from '../transcription/pocketsphinx.js';
import { splitLongSegments, toSrt, toText, toVtt, type Transcript, type TranscriptionEngine } from '../transcription/transcript.js';
import { awsTranscribeEngine } from '../transcription/aws.js';
import { openAiEngine } from '../transcription/openai.js';

/** The engine configuration names; pocketsphinx (offline) unless another is configured. */
function engineFor(ctx: StepContext, audioKey: string): TranscriptionEngine {
  const { config, input } = ctx;
  switch (config.MEDIA_INGEST_TRANSCRIBE_ENGINE) {
    case 'openai':
      return openAiEngine(config, ctx.scratch);
    case 'aws':
      return awsTranscribeEngine(config, {
        bucket: ctx.stagingBucket,
        audioKey,
        outputKey: stagingKey(input.tenant, input.jobId, 'aws-transcribe.json'),
      });
    case 'pocketsphinx':
      return pocketsphinxEngine(config.POCKETSPHINX_MODEL_DIR, ctx.scratch);
  }
}

/** Writes transcript.json, .txt, .srt and .vtt from the audio; a source without audio is skipped, with the reason. */
export async function transcribe(ctx: StepContext): Promise<TranscribeCheckpoint> {
  const started = Date.now();
  const merged = MergeCheckpointSchema.safeParse(ctx.input.checkpoints.merge);
  if (!merged.success) throw new TranscriptionFailedError('the merge checkpoint is missing or invalid');
  const audioName = [ARTIFACT_NAMES.audio, ARTIFACT_NAMES.audioFlac].find((n) => merged.data.files[n]);
  if (!audioName) {
    const engine = ctx.config.MEDIA_INGEST_TRANSCRIBE_ENGINE;
    return { files: {}, skipped: 'no audio track', engine, characters: 0, bytes: 0, durationMs: Date.now() - started };
  }
  const audio = merged.data.files[audioName]!;
  const engine = engineFor(ctx, audio.key);
  const local = (name: string) => join(ctx.scratch, name);
  await downloadFile(ctx.stagingBucket, audio.key, local(audioName));
  const recognised = await engine
    .transcribe(local(audioName), { timeoutMs: ctx.config.MEDIA_INGEST_TOOL_TIMEOUT_MS })
    .catch((err: unknown) => {
      if (err instanceof ToolError) {
        throw new TranscriptionFailedError(`${engine.name}: ${err.message}`, { details: { stderrTail: err.stderrTail } });
      }
      throw err;
    });
  const transcript: Transcript = { ...recognised, segments: splitLongSegments(recognised.segments), durationSeconds: merged.data.durationSeconds };
  const outputs: Array<[string, string, string]> = [
    [ARTIFACT_NAMES.transcriptJson, JSON.stringify(transcript, null, 2), 'application/json'],
    [ARTIFACT_NAMES.transcriptTxt, toText(transcript), 'text/plain; charset=utf-8'],
    [ARTIFACT_NAMES.transcriptSrt, toSrt(transcript), 'application/x-subrip'],
    [ARTIFACT_NAMES.transcriptVtt, toVtt(transcript), 'text/vtt'],
  ];
  const files: Record<string, FileRef> = {};
  for (const [name, content, type] of outputs) {
    await writeFile(local(name), content);
    files[name] = await uploadFile(ctx.stagingBucket, stagingKey(ctx.input.tenant, ctx.input.jobId, name), local(name), type);
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
