import { Logger } from '@aws-lambda-powertools/logger';
import { redactText } from './redact.js';

/** One structured JSON logger per process; callers add jobId and step with appendKeys. Every string is redacted. */
export const logger = new Logger({
  serviceName: 'media-ingest',
  jsonReplacerFn: (_key: string, value: unknown) => (typeof value === 'string' ? redactText(value) : value),
});
