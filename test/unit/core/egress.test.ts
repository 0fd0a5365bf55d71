import type { LookupAddress } from 'node:dns';
import { Agent, fetch } from 'undici';
import { checkedLookup, checkUrl, normaliseHost, refusedRange } from '../../../core/egress.js';
import { UnsafeUrlError } from '../../../core/errors.js';
import { bodyError } from '../../../core/http.js';
import { startServer } from '../../fixtures/server.js';

const strict = { allowHosts: [] };

describe('the egress policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
  ])('refuses %s as %s', (address, range) => {
    expect(refusedRange(address)).toBe(range);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111'])('lets public unicast %s through', (address) => {
    expect(refusedRange(address)).toBeUndefined();
  });

  it.each([
    'http://127.0.0.1/a.mp4',
    'http://2130706433/a.mp4',
    'http://0x7f000001/a.mp4',
    'http://0177.0.0.1/a.mp4',
    'http://127.1/a.mp4',
    'http://[::1]/a.mp4',
    'http://[::ffff:7f00:1]/a.mp4',
    'http://169.254.169.254/latest/meta-data/',
    'http://0xa9fea9fe/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
  ])('refuses every spelling of a loopback or metadata address: %s', (url) => {
    expect(() => checkUrl(strict, url)).toThrow(UnsafeUrlError);
  });

  it.each(['file:///etc/passwd', 'ftp://example.com/a.mp4', 'gopher://example.com/', 'not a url'])('refuses %s', (url) => {
    expect(() => checkUrl(strict, url)).toThrow(UnsafeUrlError);
  });

  it('lets an allowlisted address through', () => {
    expect(checkUrl({ allowHosts: ['127.0.0.1'] }, 'http://127.0.0.1:8080/a.mp4').port).toBe('8080');
  });

  it('checks DNS answers at connect time: localhost resolves to loopback and is refused', async () => {
    const lookup = checkedLookup(strict);
    const err = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(err!.message).toContain('loopback');
  });

  it('lets an allowlisted name resolve to loopback', async () => {
    const lookup = checkedLookup({ allowHosts: ['localhost'] });
    const address = await new Promise<string>((resolve, reject) =>
      lookup('localhost', {}, (e, a) => (e ? reject(e) : resolve(a as string))),
    );
    expect(['127.0.0.1', '::1']).toContain(address);
  });

  it.each(['LOCALHOST.', 'localhost.', 'LocalHost', 'localhost', 'LOCALHOST..', 'media.localhost', 'A.LocalHost.'])(
    'refuses the localhost name %s like its literal address, before any lookup',
    (host) => {
      expect(() => checkUrl(strict, `http://${host}:8080/x.mp4`)).toThrow(UnsafeUrlError);
      expect(() => checkUrl(strict, `http://${host}:8080/x.mp4`)).toThrow(/loopback/);
    },
  );

  it.each(['LOCALHOST.', 'localhost.', 'LocalHost'])('answers %s with loopback at connect time without DNS, and refuses it', async (host) => {
    const asked: string[] = [];
    const lookup = checkedLookup(strict, (name) => void asked.push(name));
    const err = await new Promise<Error | null>((done) => lookup(host, {}, (e) => done(e)));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(asked).toEqual([]);
  });

  it('compares allowlisted names without case or trailing dot: an allowlisted localhost allows LOCALHOST. and localhost.', () => {
    expect(normaliseHost('LOCALHOST.')).toBe('localhost');
    for (const host of ['LOCALHOST.', 'localhost.', 'LocalHost']) {
      expect(checkUrl({ allowHosts: ['localhost'] }, `http://${host}:8080/a.mp4`).port).toBe('8080');
      expect(checkUrl({ allowHosts: ['LocalHost.'] }, `http://${host}:8080/a.mp4`).port).toBe('8080');
    }
  });

  type Answers = Record<string, string[]>;
  const fakeDns = (answers: Answers) =>
    (name: string, _options: unknown, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => {
      const found = answers[name];
      if (!found) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }), []);
      callback(null, found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
    };

  it.each([
    ['internal.example', ['10.0.0.5']],
    ['Internal.Example.', ['10.0.0.5']],
    ['both.example', ['192.168.1.10', 'fd00::1']],
    ['loop.example', ['127.0.0.1', '::1']],
  ])('refuses %s, whose every answer is private or loopback, with UnsafeUrl', async (name, addresses) => {
    const lookup = checkedLookup(strict, fakeDns({ [name]: addresses, [name.toLowerCase()]: addresses }));
    const err = await new Promise<Error | null>((done) => lookup(name, {}, (e) => done(e)));
    expect(err).toBeInstanceOf(UnsafeUrlError);
  });

  it('refuses a trailing-dot name the resolver does not know when its bare name resolves only to refused addresses', async () => {
    const lookup = checkedLookup(strict, fakeDns({ intranet: ['10.1.1.1'] }));
    const err = await new Promise<Error | null>((done) => lookup('intranet.', {}, (e) => done(e)));
    expect(err).toBeInstanceOf(UnsafeUrlError);
  });

  it('keeps an unknown name a lookup failure (transient), not UnsafeUrl', async () => {
    const lookup = checkedLookup(strict, fakeDns({ public: ['93.184.216.34'] }));
    for (const name of ['nowhere.example', 'nowhere.example.', 'public.']) {
      const err = await new Promise<NodeJS.ErrnoException | null>((done) => lookup(name, {}, (e) => done(e)));
      expect(err).not.toBeInstanceOf(UnsafeUrlError);
      expect(err!.code).toBe('ENOTFOUND');
    }
  });

  it('surfaces a refused DNS answer through fetch as UnsafeUrl, with no request reaching the server', async () => {
    const server = await startServer({ '/x.mp4': { status: 200, body: 'x' } });
    const agent = new Agent({ connect: { lookup: checkedLookup(strict, fakeDns({ 'private.example': ['127.0.0.1'] })) } });
    try {
      const url = `http://private.example:${server.port}/x.mp4`;
      const err = await fetch(url, { dispatcher: agent }).then(() => null, (e: unknown) => e);
      expect(bodyError(err, url)).toBeInstanceOf(UnsafeUrlError);
      expect(server.totalRequests()).toBe(0);
    } finally {
      await agent.close();
      await server.close();
    }
  });
});
