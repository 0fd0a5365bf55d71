import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Config, ConfigError } from './config.js';

let client: SecretsManagerClient | undefined;
const values = new Map<string, Promise<string>>();

/** A secret's string, read once per process (a rotated value is picked up by the next cold start). */
function secretString(arn: string, region: string): Promise<string> {
  if (!values.has(arn)) {
    client ??= new SecretsManagerClient({ region });
    const read = client.send(new GetSecretValueCommand({ SecretId: arn })).then((out) => {
      if (!out.SecretString) throw new ConfigError(`secret ${arn} has no string value`);
      return out.SecretString;
    });
    // A failed read is not cached: the next invocation tries again.
    read.catch(() => values.delete(arn));
    values.set(arn, read);
  }
  return values.get(arn)!;
}

/**
 * The configuration with the callback signing secret filled in from Secrets Manager when only its ARN is set
 * (`MEDIA_INGEST_CALLBACK_SECRET_ARN`), as the CDK stack deploys it; a value set directly wins.
 */
export async function withSecrets(config: Config): Promise<Config> {
  const arn = config.MEDIA_INGEST_CALLBACK_SECRET_ARN;
  if (config.MEDIA_INGEST_CALLBACK_SECRET || !arn) return config;
  const secret = await secretString(arn, config.AWS_REGION);
  if (secret.length < 16) throw new ConfigError('the secret named by MEDIA_INGEST_CALLBACK_SECRET_ARN must be at least 16 characters');
  return { ...config, MEDIA_INGEST_CALLBACK_SECRET: secret };
}
