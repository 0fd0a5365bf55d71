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

/** start-job's required resources (its route takes a body). */
const JOBS_ENV = { JOBS_TABLE: 'jobs', STAGING_BUCKET: 'staging', STATE_MACHINE_ARN: 'arn' };

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
    const { forEnvironment } = apiEntry('start-job', 200, () => async (req) => {
      logger.info('working');
      return { tenant: req.tenant, body: req.body(), jobId: req.id };
    });
    const answer = await forEnvironment(JOBS_ENV)(event('{"a":1}', 'job-7'));
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
    const parsing = apiEntry('start-job', 200, () => async (req) => req.body()).forEnvironment(JOBS_ENV);
    expect(await parsing(event('not json'))).toMatchObject({ statusCode: 400, body: expect.stringContaining('InvalidRequest') });
    lines.length = 0;
    logger.info('after');
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('jobId');
  });

  it('answers a body past its route\'s limit with 413 PayloadTooLarge before the logic runs, and the setting lowers that limit', async () => {
    let ran = 0;
    const make = () => async () => ++ran;
    const uploads = apiEntry('create-upload', 201, make).forEnvironment({ STAGING_BUCKET: 'staging' });
    const big = JSON.stringify({ filename: 'x'.repeat(5000) });
    expect(await uploads(event(big))).toMatchObject({ statusCode: 413, body: expect.stringContaining('"PayloadTooLarge"') });
    const jobs = apiEntry('start-job', 202, make).forEnvironment({ ...JOBS_ENV, MEDIA_INGEST_MAX_REQUEST_BYTES: '2048' });
    expect(await jobs(event(big))).toMatchObject({ statusCode: 413 });
    expect(ran).toBe(0);
    expect(await jobs(event(JSON.stringify({ a: 'x'.repeat(1000) })))).toMatchObject({ statusCode: 202 });
    expect(ran).toBe(1);
  });
});
