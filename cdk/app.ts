import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MediaIngestStack } from './stack.js';

const app = new App();
const stage = (app.node.tryGetContext('stage') as string | undefined) ?? 'dev';
const list = (key: string) => ((app.node.tryGetContext(key) as string | undefined) ?? '').split(',').filter(Boolean);
new MediaIngestStack(app, `MediaIngest-${stage}`, {
  description: 'media-ingest: media URL to verified artifacts (Step Functions, Fargate, Lambda, DynamoDB, S3)',
  allowHosts: list('allowHosts'),
  callbackAllowHosts: list('callbackAllowHosts'),
  api: { webAclArn: app.node.tryGetContext('webAclArn') as string | undefined },
  destroyOnRemoval: app.node.tryGetContext('destroyOnRemoval') === 'true',
});
// Every synth is checked: an unacknowledged AwsSolutions finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
