import { Logger } from '@aws-lambda-powertools/logger';
import { redactText } from './redact.js';

/** One structured JSON logger per process; callers add jobId and step with appendKeys. Every string is redacted. */
export const logger = new Logger({
  serviceName: 'media-ingest',
  jsonReplacerFn: (_key: string, value: unknown) => (typeof value === 'string' ? redactText(value) : value),
});

/** The worker's lines around each step: the local pool reads them to know which workers are busy. */
export const STEP_LOG = { started: 'step started', ended: 'step ended' } as const;
