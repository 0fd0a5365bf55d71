import { Logger } from '@aws-lambda-powertools/logger';

/** One structured JSON logger per process; callers add jobId and step with appendKeys. */
export const logger = new Logger({ serviceName: 'media-ingest' });
