import { loadConfig } from '../../core/config.js';
import { withSecrets } from '../../core/secrets.js';
import { setEnv } from '../fixtures/env.js';
import { withScratch } from '../fixtures/runtime.js';

/** GetSecretValue calls the stand-in saw: which secret. */
const asked: string[] = [];
const SECRETS: Record<string, string> = {
  'arn:aws:secretsmanager:us-east-1:111111111111:secret:callback': 'a-long-enough-signing-secret',
  'arn:aws:secretsmanager:us-east-1:111111111111:secret:short': 'short',
};

withScratch('secrets', {
  setup: async ({ serve, atEnd }) => {
    // A stand-in for Secrets Manager's JSON 1.1 API: only GetSecretValue.
    const server = await serve({
      '/': {
        receive: (body, req, res) => {
          const { SecretId } = JSON.parse(body.toString()) as { SecretId: string };
          asked.push(SecretId);
          const value = SECRETS[SecretId];
          if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue' || value === undefined) {
            res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such secret' }));
            return;
          }
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ ARN: SecretId, Name: 'x', SecretString: value }));
        },
      },
    });
    atEnd(setEnv({ AWS_ENDPOINT_URL_SECRETS_MANAGER: server.url(''), AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }));
  },
});

describe('secrets from Secrets Manager', () => {
  it('fills the callback signing secret from its ARN, reading it once per process', async () => {
    const config = loadConfig('notify', { JOBS_TABLE: 'jobs', STAGING_BUCKET: 'staging',  MEDIA_INGEST_CALLBACK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:callback' });
    expect((await withSecrets(config)).MEDIA_INGEST_CALLBACK_SECRET).toBe('a-long-enough-signing-secret');
    expect((await withSecrets(config)).MEDIA_INGEST_CALLBACK_SECRET).toBe('a-long-enough-signing-secret');
    expect(asked.filter((a) => a.endsWith(':callback'))).toHaveLength(1);
  });

  it('keeps a value set directly and then asks nothing', async () => {
    const before = asked.length;
    const config = loadConfig('notify', { JOBS_TABLE: 'jobs', STAGING_BUCKET: 'staging',  MEDIA_INGEST_CALLBACK_SECRET: 'set-directly-and-long-enough', MEDIA_INGEST_CALLBACK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:callback' });
    expect((await withSecrets(config)).MEDIA_INGEST_CALLBACK_SECRET).toBe('set-directly-and-long-enough');
    expect(asked.length).toBe(before);
  });

  it('refuses a secret shorter than 16 characters, naming the variable', async () => {
    const config = loadConfig('notify', { JOBS_TABLE: 'jobs', STAGING_BUCKET: 'staging',  MEDIA_INGEST_CALLBACK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:short' });
    await expect(withSecrets(config)).rejects.toThrow(/MEDIA_INGEST_CALLBACK_SECRET_ARN/);
  });

  it('fails when the secret cannot be read, and tries again on the next call', async () => {
    const config = loadConfig('notify', { JOBS_TABLE: 'jobs', STAGING_BUCKET: 'staging',  MEDIA_INGEST_CALLBACK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:missing' });
    await expect(withSecrets(config)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(withSecrets(config)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(asked.filter((a) => a.endsWith(':missing'))).toHaveLength(2);
  });
});
