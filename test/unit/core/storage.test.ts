import { InvalidRequestError } from '../../../core/errors.js';
import { artifactsPrefix, stagingKey } from '../../../core/storage.js';

describe('the storage layout', () => {
  it('puts staging under the tenant and job', () => {
    expect(stagingKey('t1', 'j1', 'source.mp4')).toBe('staging/t1/j1/source.mp4');
  });

  it('publishes to jobs/<job> by default and to a normalised storage_path when given', () => {
    expect(artifactsPrefix('t1', 'j1')).toBe('tenants/t1/jobs/j1/');
    expect(artifactsPrefix('t1', 'j1', '/shows//ep1/')).toBe('tenants/t1/shows/ep1/');
  });

  it.each(['../../other-tenant', 'a/../../b', './x', 'a\\b', 'bad\u0000name', '', '///'])(
    'refuses a storage_path of %j that could leave the tenant prefix',
    (path) => {
      expect(() => artifactsPrefix('t1', 'j1', path)).toThrow(InvalidRequestError);
    },
  );
});
