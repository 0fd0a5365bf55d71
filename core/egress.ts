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

function allowed(policy: EgressPolicy, ...names: string[]): boolean {
  return names.some((n) => policy.allowHosts.includes(n.toLowerCase()));
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
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that checks every DNS answer at connect time, so rebinding cannot pass. */
export function checkedLookup(policy: EgressPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      try {
        for (const a of addresses) checkAddress(policy, hostname, a.address);
      } catch (refusal) {
        return callback(refusal as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
