import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES, loadConfig, readersText, SETTINGS } from '../../../core/config.js';

describe('configuration', () => {
  it('lists every variable it reads in the README table', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const missing = CONFIG_VARIABLES.filter((name) => !readme.includes(`| \`${name}\``) && !readme.includes(`\`${name}\`, `));
    expect(missing).toEqual([]);
  });

  it('lists every setting in the README\'s Deploy section, as a context key', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const deploy = readme.slice(readme.indexOf('## Deploy (AWS)'));
    expect(SETTINGS.filter(({ setting }) => !deploy.includes(`| \`${setting}\` |`))).toEqual([]);
  });

  it('says in the README who reads each variable, as the contract does', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    expect(CONFIG_VARIABLES.filter((name) => !readme.includes(`| \`${name}\` | ${readersText(name)} |`))).toEqual([]);
  });

  it('names the variable that is invalid', () => {
    expect(() => loadConfig('start-job', { JOBS_TABLE: 't', STAGING_BUCKET: 's', STATE_MACHINE_ARN: 'a', MEDIA_INGEST_CONNECTIONS: 'many' })).toThrow(/MEDIA_INGEST_CONNECTIONS/);
    expect(() => loadConfig('notify', { JOBS_TABLE: 't', STAGING_BUCKET: 's', MEDIA_INGEST_CALLBACK_SECRET: 'short' })).toThrow(/MEDIA_INGEST_CALLBACK_SECRET.*16 characters/);
    // One CopyObject stops at 5 GiB, so a higher threshold would fail at S3.
    expect(() => loadConfig('publish', { STAGING_BUCKET: 's', ARTIFACTS_BUCKET: 'a', MEDIA_INGEST_MULTIPART_COPY_THRESHOLD_BYTES: String(6 * 1024 ** 3) })).toThrow(/MEDIA_INGEST_MULTIPART_COPY_THRESHOLD_BYTES/);
  });

  it('applies safe defaults', () => {
    const config = loadConfig('classify', { STAGING_BUCKET: 'b' });
    expect(loadConfig('publish', { STAGING_BUCKET: 's', ARTIFACTS_BUCKET: 'a' }).MEDIA_INGEST_MULTIPART_COPY_THRESHOLD_BYTES).toBe(5 * 1024 ** 3);
    expect(loadConfig('notify', { JOBS_TABLE: 't', STAGING_BUCKET: 's' }).MEDIA_INGEST_CALLBACK_ALLOW_HOSTS).toEqual([]);
    expect(config.MEDIA_INGEST_ALLOW_HOSTS).toEqual([]);
    expect(config.MEDIA_INGEST_MAX_BYTES).toBe(10 * 1024 ** 3);
    expect(config.MEDIA_INGEST_MAX_REDIRECTS).toBe(5);
  });
});
