import { executionArn, executionName, JobRequestSchema } from '../../../core/job.js';
import { describeZodError } from '../../../core/input.js';

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
    [{ source: { type: 'http', url: 'http://alice:s3cret@media.example.com/a.mp4' } }, 'source.url'],
    [{ source: { type: 'http', url: 'https://alice@media.example.com/a.mp4' } }, 'source.url'],
    [{ source: { type: 'http', url: 'http:\\\\alice:s3cret@media.example.com/a.mp4' } }, 'source.url'],
  ])('refuses %j and names the field %s', (body, field) => {
    const result = JobRequestSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(describeZodError(result.error!)).toContain(`${field}:`);
    expect(describeZodError(result.error!)).not.toContain('s3cret');
  });
});

describe('the execution name', () => {
  const allowed = /^[A-Za-z0-9_-]{1,80}$/;
  const shared = 'a'.repeat(70);

  it('is the readable tenant-jobId when it fits', () => {
    expect(executionName('123456789012', 'job-1')).toBe('123456789012-job-1');
    expect(executionName('local', 'f47ac10b-58cc-4372-a567-0e02b2c3d479')).toBe('local-f47ac10b-58cc-4372-a567-0e02b2c3d479');
  });

  it('tells apart long job ids that share their first 70 characters, within 80 allowed characters', () => {
    const names = ['x', 'y', `${'b'.repeat(10)}`, 'x'.repeat(10)].map((tail) => executionName('local', shared + tail));
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(allowed);
      expect(name.startsWith(`local-${shared.slice(0, 30)}`)).toBe(true);
    }
  });

  it('keeps the longest job id and tenant within the limit', () => {
    const name = executionName('t'.repeat(200), 'j'.repeat(80));
    expect(name).toMatch(allowed);
    expect(name).toHaveLength(80);
  });

  it('tells apart pairs that join to the same text', () => {
    const pairs: Array<[string, string]> = [
      ['a-b', 'c'],
      ['a', 'b-c'],
      ['a', 'b--c'],
      ['a-', 'b-c'],
      ['a', '-b-c'],
      ['a', 'b-c-'],
      ['a_b', 'c'],
      ['a', 'b_c'],
    ];
    const names = pairs.map(([t, j]) => executionName(t, j));
    expect(new Set(names).size).toBe(pairs.length);
    for (const name of names) expect(name).toMatch(allowed);
  });

  it('gives every pair over a small alphabet its own name, readable or hashed', () => {
    // Exhaustive over "a", "-", "_" up to 3 characters: separator games and the readable/hashed boundary alike.
    const words = [''];
    for (let len = 0; len < 3; len++) for (const w of words.filter((x) => x.length === len)) for (const c of 'a-_') words.push(w + c);
    const ids = words.filter(Boolean);
    const seen = new Map<string, string>();
    for (const t of ids) {
      for (const j of ids) {
        const name = executionName(t, j);
        expect(name).toMatch(allowed);
        expect(seen.get(name)).toBeUndefined();
        seen.set(name, `${t}|${j}`);
      }
    }
    expect(seen.size).toBe(ids.length ** 2);
  });

  it('replaces characters Step Functions refuses and still hashes the original', () => {
    const a = executionName('acme corp', 'job/1');
    const b = executionName('acme_corp', 'job_1');
    expect(a).toMatch(allowed);
    expect(a).not.toBe(b);
  });

  it('derives the ARN Step Functions gives the execution', () => {
    expect(executionArn('arn:aws:states:us-east-1:000000000000:stateMachine:pipeline', 'local-job-1')).toBe(
      'arn:aws:states:us-east-1:000000000000:execution:pipeline:local-job-1',
    );
  });
});
