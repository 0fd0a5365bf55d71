import { App } from 'aws-cdk-lib';
import { MediaIngestStack } from './stack.js';

const app = new App();
const stage = (app.node.tryGetContext('stage') as string | undefined) ?? 'dev';
new MediaIngestStack(app, `MediaIngest-${stage}`, {
  description: 'media-ingest: media URL to verified artifacts (Step Functions, Fargate, Lambda, DynamoDB, S3)',
});
app.synth();
