import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scaleInProtection } from '../../../containers/media-worker/protection.js';

/** A stand-in ECS agent: records each task-protection request. */
let agent: Server;
let agentUri: string;
const requests: Array<{ method: string; url: string; body: unknown }> = [];

beforeAll(async () => {
  agent = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
  agentUri = `http://127.0.0.1:${(agent.address() as AddressInfo).port}/v3/task`;
});
afterAll(() => new Promise<void>((r) => agent.close(() => r())));

describe('ECS task scale-in protection', () => {
  it('is turned on when the first step starts and off when the last one ends, through the agent endpoint', async () => {
    requests.length = 0;
    const protection = scaleInProtection(agentUri);
    await protection.acquire();
    await protection.acquire();
    await protection.release();
    expect(requests).toEqual([{ method: 'PUT', url: '/v3/task/task-protection/v1/state', body: { ProtectionEnabled: true, ExpiresInMinutes: 2880 } }]);
    await protection.release();
    expect(requests.at(-1)).toEqual({ method: 'PUT', url: '/v3/task/task-protection/v1/state', body: { ProtectionEnabled: false } });
    expect(requests).toHaveLength(2);
  });

  it('does nothing without ECS_AGENT_URI (the local runtime, where nothing scales in)', async () => {
    requests.length = 0;
    const protection = scaleInProtection(undefined);
    await protection.acquire();
    await protection.release();
    expect(requests).toEqual([]);
  });
});
