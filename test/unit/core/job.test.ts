import { describeZodError, JobRequestSchema } from '../../../core/job.js';

const valid = { source: { type: 'http', url: 'https://media.example.com/a.mp4' } };

describe('the job request schema', () => {
  it('accepts a minimal request and defaults the actions to download and transcode', () => {
    const parsed = JobRequestSchema.parse(valid);
    expect(parsed.actions).toEqual(['download', 'transcode']);
  });

  it('accepts every documented field', () => {
    const parsed = JobRequestSchema.parse({
      job_id: 'job-1',
      source: { type: 'youtube', url: 'https://www.youtube.com/watch?v=x', metadata: { title: 't' } },
      actions: ['download', 'transcribe'],
      callback_url: 'https://hooks.example.com/done',
      storage_path: 'shows/ep1',
    });
    expect(parsed.job_id).toBe('job-1');
    expect(parsed.actions).toEqual(['download', 'transcribe']);
  });

  it.each([
    [{ source: { type: 'ftp', url: 'x' } }, 'source.type'],
    [{ source: { type: 'http' } }, 'source.url'],
    [{ ...valid, actions: ['download', 'explode'] }, 'actions.1'],
    [{ ...valid, actions: [] }, 'actions'],
    [{ ...valid, callback_url: 'file:///etc/passwd' }, 'callback_url'],
    [{ ...valid, job_id: '../x' }, 'job_id'],
    [{ ...valid, tenant: 'someone-else' }, '(body)'],
  ])('refuses %j and names the field %s', (body, field) => {
    const result = JobRequestSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(describeZodError(result.error!)).toContain(`${field}:`);
  });
});
