import { Template } from 'aws-cdk-lib/assertions';
import { join } from 'node:path';
import { MediaIngestStack } from '../../cdk/stack.js';
import type { RecordedCall } from '../../core/call-log.js';
import { cleanup } from '../../lambdas/cleanup/cleanup.js';
import { deniedCalls, stripGrant } from '../fixtures/iam.js';
import { makeClip } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';
import type { CallbackReceiver, TestServer } from '../fixtures/server.js';
import { unbundledApp } from '../fixtures/cdk.js';

const SECRET = 'iam-test-signing-secret-0123456789';
let media: TestServer;
let hook: CallbackReceiver;
let calls: RecordedCall[];

const fx = withRuntime('iam', {
  runtime: { settings: { callbackAllowHosts: ['127.0.0.1'] }, env: { ...process.env, MEDIA_INGEST_CALLBACK_SECRET: SECRET } },
  setup: async ({ dir, serve, callbacks }) => {
    media = await serve({ '/clip.mp4': { file: makeClip(join(dir, 'media'), 'clip.mp4', { seconds: 2, speech: 'checking every call' }) } });
    hook = await callbacks();
  },
});

beforeAll(async () => {
  const { runtime, dir } = fx;
  // What a caller does: a job with every action and a callback, an upload, a cancel; then the cleanup sweep.
  const full = await runtime.submit({ source: { type: 'http', url: media.url('/clip.mp4') }, actions: ['download', 'transcode', 'transcribe'], callback_url: hook.url });
  expect((await runtime.finish(full)).status).toBe('SUCCEEDED');
  const uploaded = await runtime.submit({ source: { type: 'upload', url: await runtime.upload(join(dir, 'media', 'clip.mp4')) } });
  expect((await runtime.finish(uploaded)).status).toBe('SUCCEEDED');
  await cleanup(runtime.deps('cleanup'), new Date(Date.now() + 48 * 3_600_000));
  // Each distinct call once: a job repeats the same ones many times (progress, parts).
  calls = [...new Map((await runtime.awsCalls()).map((c) => [JSON.stringify(c), c])).values()];
}, 300_000);

describe('every AWS call of a whole job, against the roles the stack deploys', () => {
  const template = () => Template.fromStack(new MediaIngestStack(unbundledApp(), 'Iam', { settings: { callbackAllowHosts: ['127.0.0.1'] } }));

  it('records the calls of the Lambdas and of the sandboxed worker', () => {
    const components = new Set(calls.map((c) => c.component));
    for (const c of ['start-job', 'classify', 'publish', 'notify', 'cleanup', 'worker']) expect(components).toContain(c);
    expect(calls.some((c) => c.component === 'worker' && c.action === 'states:SendTaskSuccess')).toBe(true);
  });

  it('finds none denied', async () => {
    expect(await deniedCalls(template(), calls)).toEqual([]);
  });

  it('finds the call a removed grant would deny', async () => {
    const denied = await deniedCalls(stripGrant(template(), 'publish', 's3:PutObject'), calls);
    expect(denied.map((d) => `${d.component} ${d.action}`)).toContain('publish s3:PutObject');
  });
});
