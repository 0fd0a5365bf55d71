import { InvalidRequestError } from '../../../core/errors.js';
import { ARTIFACT_NAMES, artifactsPrefix, S3_KEY_MAX_BYTES, stagingKey } from '../../../core/storage.js';

describe('the storage layout', () => {
  it('puts staging under the tenant and job', () => {
    expect(stagingKey('t1', 'j1', 'source.mp4')).toBe('staging/t1/j1/source.mp4');
  });

  it('publishes to jobs/<job> by default and to the job\'s own folder under a normalised storage_path when given', () => {
    expect(artifactsPrefix('t1', 'j1')).toBe('tenants/t1/jobs/j1/');
    expect(artifactsPrefix('t1', 'j1', '/shows//ep1/')).toBe('tenants/t1/shows/ep1/j1/');
  });

  it('never gives a job a prefix holding another job\'s artifacts, whatever storage_path names', () => {
    expect(artifactsPrefix('t1', 'j2', 'jobs/j1')).toBe('tenants/t1/jobs/j1/j2/');
    expect(artifactsPrefix('t1', 'j2', 'shows')).not.toBe(artifactsPrefix('t1', 'j1', 'shows'));
  });

  it('accepts the longest storage_path whose artifact keys fit S3\'s 1,024 bytes, and refuses one byte more', () => {
    const longest = Math.max(...Object.values(ARTIFACT_NAMES).map((n) => n.length));
    const room = S3_KEY_MAX_BYTES - 'tenants/t1/'.length - '/j1/'.length - longest;
    const path = (n: number) => Array.from({ length: Math.ceil(n / 200) }, (_, i) => 'a'.repeat(Math.min(199, n - i * 200))).join('/');
    expect(path(room)).toHaveLength(room);
    expect(Buffer.byteLength(artifactsPrefix('t1', 'j1', path(room))) + longest).toBe(S3_KEY_MAX_BYTES);
    expect(() => artifactsPrefix('t1', 'j1', path(room + 1))).toThrow(/artifact keys would be 1025 bytes; S3 allows 1024/);
  });

  it('counts bytes, not characters: a folder name of 128 two-byte characters is refused', () => {
    expect(artifactsPrefix('t1', 'j1', 'é'.repeat(127))).toBe(`tenants/t1/${'é'.repeat(127)}/j1/`);
    expect(() => artifactsPrefix('t1', 'j1', 'é'.repeat(128))).toThrow(/folder name is 256 bytes; at most 255/);
  });

  it.each(['../../other-tenant', 'a/../../b', './x', 'a\\b', 'bad\u0000name', '', '///'])(
    'refuses a storage_path of %j that could leave the tenant prefix',
    (path) => {
      expect(() => artifactsPrefix('t1', 'j1', path)).toThrow(InvalidRequestError);
    },
  );
});
