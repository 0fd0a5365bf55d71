import { resolveUpload } from '../../../core/uploads.js';
import type { StepContext } from '../context.js';
import { downloadFile } from '../staging.js';

/** An uploaded object, read from the tenant's upload prefix (checked again: the worker trusts no checkpoint's key). */
export async function copyUpload(ctx: StepContext, url: string, dest: string): Promise<void> {
  const { bucket, key } = resolveUpload(url, ctx.stagingBucket, ctx.input.tenant);
  const ref = await downloadFile(ctx.s3, bucket, key, dest);
  ctx.progress(ref.bytes, ref.bytes);
}
