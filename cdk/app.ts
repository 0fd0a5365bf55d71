import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromText } from '../core/config.js';
import { MediaIngestStack } from './stack.js';

const app = new App();
const context = (key: string) => app.node.tryGetContext(key) as string | undefined;
const stage = context('stage') ?? 'dev';
new MediaIngestStack(app, `MediaIngest-${stage}`, {
  description: 'media-ingest: media URL to verified artifacts (Step Functions, Fargate, Lambda, DynamoDB, S3)',
  // Every setting of the configuration contract is a context key of its own name: `-c maxBytes=…`.
  settings: settingsFromText((setting) => context(setting)),
  api: { webAclArn: context('webAclArn') },
  workers: { sttApiKeySecretArn: context('sttApiKeySecretArn') },
  destroyOnRemoval: context('destroyOnRemoval') === 'true',
});
// Every synth is checked: an unacknowledged AwsSolutions finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
