import { PutObjectCommand } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { makeClip, probeDuration } from '../fixtures/media.js';
import { withRuntime } from '../fixtures/runtime.js';

// Uploads only: nothing is fetched, so nothing is allowlisted.
const fx = withRuntime('upload', { runtime: { allowHosts: [] } });

async function run(url: string) {
  return fx.runtime.finish(await fx.runtime.submit({ source: { type: 'upload', url } }));
}

const put = (key: string, body: string) => fx.runtime.s3.send(new PutObjectCommand({ Bucket: fx.runtime.config.STAGING_BUCKET, Key: key, Body: body }));

describe('uploaded sources', () => {
  it('an object under the tenant\'s upload prefix becomes the job\'s source, by key or by s3:// URL', async () => {
    const key = await fx.runtime.upload(makeClip(join(fx.dir, 'media'), 'mine.mp4', { seconds: 3 }));
    for (const url of [key, `s3://${fx.runtime.config.STAGING_BUCKET}/${key}`]) {
      const record = await run(url);
      expect(record.error).toBeNull();
      expect(record.checkpoints.classify).toMatchObject({ kind: 'upload' });
      const out = join(fx.dir, 'out', record.jobId);
      await fx.runtime.download(record, out);
      expect(Math.abs(probeDuration(join(out, 'source.mp4')) - 3)).toBeLessThan(0.2);
    }
  });

  it.each([
    ['another tenant\'s object', 'uploads/someone-else/x.mp4', 'InvalidRequest'],
    ['a key outside the upload prefix', 'staging/local/other-job/original', 'InvalidRequest'],
    ['a path that climbs out', 'uploads/local/../someone-else/x.mp4', 'InvalidRequest'],
    ['another bucket', 's3://some-other-bucket/uploads/local/x.mp4', 'InvalidRequest'],
    ['a missing object', 'uploads/local/missing.mp4', 'SourceNotFound'],
  ])('%s fails with %s, recorded on the job', async (_what, url, code) => {
    const record = await run(url);
    expect(record.status).toBe('FAILED');
    expect(record.error).toMatchObject({ code });
  });

  it('an uploaded HTML page fails with NotMedia', async () => {
    await put('uploads/local/page.mp4', '<!doctype html><html><body>not a video</body></html>');
    const record = await run('uploads/local/page.mp4');
    expect(record.error).toMatchObject({ code: 'NotMedia' });
  });
});
