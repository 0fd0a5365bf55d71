import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { UnsafeUrlError } from './errors.js';

export interface EgressPolicy {
  /** Hosts (names or addresses, lower case) that may be reached even when they resolve to a refused range. */
  readonly allowHosts: readonly string[];
}

/** Why an address is refused, or undefined when it is public unicast. */
export function refusedRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let parsed = ipaddr.parse(address);
  // An IPv4-mapped IPv6 address reaches the IPv4 host: judge that host.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : range;
}

/**
 * A host name as the policy compares it: lower case, without IPv6 brackets and without the trailing dot of a fully
 * qualified name (`LOCALHOST.` is `localhost`). Applied to both sides, so an allowlisted `localhost` also allows
 * `LocalHost` and `localhost.`, and an allowlist entry written `Media.Example.` matches `media.example`.
 */
export function normaliseHost(name: string): string {
  return name.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.+$/, '');
}

/** `localhost` and `*.localhost` always mean this machine (RFC 6761): judged as loopback, never sent to DNS. */
export function isLocalhostName(name: string): boolean {
  const host = normaliseHost(name);
  return host === 'localhost' || host.endsWith('.localhost');
}

function allowed(policy: EgressPolicy, ...names: string[]): boolean {
  const allow = new Set(policy.allowHosts.map(normaliseHost));
  return names.some((n) => allow.has(normaliseHost(n)));
}

/** Throws UnsafeUrl unless `address`, reached for `hostname`, is public or allowlisted. */
export function checkAddress(policy: EgressPolicy, hostname: string, address: string): void {
  if (allowed(policy, hostname, address)) return;
  const range = refusedRange(address);
  if (range) {
    throw new UnsafeUrlError(`refused ${hostname} (${address}): ${range} addresses are not allowed`, {
      details: { host: hostname, address, range },
    });
  }
}

/** Parses a URL and applies the policy to what can be known before any DNS answer. */
export function checkUrl(policy: EgressPolicy, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError(`not a valid URL: ${raw.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UnsafeUrlError(`scheme ${url.protocol.replace(':', '')} is not allowed: only http and https`);
  }
  // WHATWG parsing already turns decimal, octal, hex and shortened IPv4 spellings into dotted quads.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) checkAddress(policy, host, host);
  // A localhost name is refused like its literal address, whatever its case or trailing dot, before any lookup.
  else if (isLocalhostName(host)) checkAddress(policy, host, '127.0.0.1');
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const LOOPBACK: Record<number, LookupAddress> = { 4: { address: '127.0.0.1', family: 4 }, 6: { address: '::1', family: 6 } };

/**
 * A `lookup` for net.connect that checks every DNS answer at connect time, so rebinding cannot pass. A refusal is an
 * UnsafeUrlError (permanent): fetch and the egress proxy pass it on as it is, never as a network error.
 * `resolve` is dns.lookup; tests give their own answers.
 */
export function checkedLookup(policy: EgressPolicy, resolve: Resolver = dnsLookup as Resolver) {
  const answer = (hostname: string, options: LookupOptions, addresses: LookupAddress[], callback: LookupCallback): void => {
    try {
      for (const a of addresses) checkAddress(policy, hostname, a.address);
    } catch (refusal) {
      return callback(refusal as NodeJS.ErrnoException, []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  };
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    if (isLocalhostName(hostname)) return answer(hostname, options, [LOOPBACK[options.family === 6 ? 6 : 4]!], callback);
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (!err) return answer(hostname, options, addresses, callback);
      // `name.` may be unknown to the resolver where `name` is not (hosts files): a refused `name` is refused whatever the spelling.
      const bare = hostname.replace(/\.+$/, '');
      if (bare === hostname || !bare) return callback(err, []);
      resolve(bare, { ...options, all: true }, (bareErr, bareAddresses) => {
        if (bareErr || bareAddresses.length === 0 || bareAddresses.some((a) => !refusedRange(a.address) || allowed(policy, hostname, a.address))) {
          return callback(err, []);
        }
        answer(hostname, options, bareAddresses, callback);
      });
    });
  };
}
