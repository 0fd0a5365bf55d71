import { checkedLookup, checkUrl, refusedRange } from '../../../core/egress.js';
import { UnsafeUrlError } from '../../../core/errors.js';

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
});
