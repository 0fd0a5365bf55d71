import type { APIGatewayProxyEvent } from 'aws-lambda';
import { apiEntry } from '../../../core/api.js';
import { ConflictError } from '../../../core/errors.js';
import { logger } from '../../../core/logger.js';

const event = (body: string | null, id?: string) =>
  ({
    body,
    isBase64Encoded: false,
    pathParameters: id ? { id } : null,
    queryStringParameters: null,
    requestContext: { requestId: 'req-1', identity: { accountId: '111122223333' } },
  }) as unknown as APIGatewayProxyEvent;

describe('the API entry', () => {
  const lines: string[] = [];
  const write = process.stdout.write;
  // The logger writes JSON lines to stdout: read them there.
  beforeAll(() => {
    logger.setLogLevel('INFO');
    process.stdout.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
  });
  afterAll(() => {
    process.stdout.write = write;
  });

  it('gives the logic the tenant and the body, answers JSON with the status, and logs the request and job ids', async () => {
    const { forEnvironment } = apiEntry('get-job', 200, () => async (req) => {
      logger.info('working');
      return { tenant: req.tenant, body: req.body(), jobId: req.jobId };
    });
    const answer = await forEnvironment({ JOBS_TABLE: 'jobs' })(event('{"a":1}', 'job-7'));
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ tenant: '111122223333', body: { a: 1 }, jobId: 'job-7' });
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'working');
    expect(logged).toMatchObject({ requestId: 'req-1', jobId: 'job-7' });
  });

  it('answers an error by its stable code, a bad body with 400, and keeps no keys after the request', async () => {
    const failing = apiEntry('get-job', 200, () => async () => {
      throw new ConflictError('job j has already ended');
    }).forEnvironment({ JOBS_TABLE: 'jobs' });
    expect(await failing(event(null, 'j'))).toMatchObject({ statusCode: 409, body: expect.stringContaining('"Conflict"') });
    const parsing = apiEntry('get-job', 200, () => async (req) => req.body()).forEnvironment({ JOBS_TABLE: 'jobs' });
    expect(await parsing(event('not json'))).toMatchObject({ statusCode: 400, body: expect.stringContaining('InvalidRequest') });
    lines.length = 0;
    logger.info('after');
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('jobId');
  });
});
