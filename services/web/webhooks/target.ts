import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where a webhook may be delivered (SSRF defence). A target's host is resolved at every delivery
 * and each of its addresses checked; the connection then goes to the checked address (a pinned
 * `lookup`), so a DNS answer that changes between the check and the connect (DNS rebinding) cannot
 * move it. Refused unless `allowPrivateTargets`: loopback, private (RFC 1918, fc00::/7),
 * link-local, CGNAT, unspecified, multicast, reserved and benchmark ranges, and IPv6 forms that
 * embed such an IPv4 address (IPv4-mapped, NAT64).
 */
const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  FORBIDDEN.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['100::', 64],
] as const)
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address an IPv6 address embeds (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible, NAT64 64:ff9b::/96), or undefined. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** True when `address` (an IP literal) is in a range webhooks may not reach unless allowed. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined && isIP(v4) === 4) return FORBIDDEN.check(v4, 'ipv4');
  return FORBIDDEN.check(address, 'ipv6');
}

export interface TargetRules {
  allowHttp: boolean;
  allowPrivateTargets: boolean;
}

/** A target checked for one delivery: the URL, and the address to connect to. */
export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** A target refused: why (for the delivery log and the API's answer). */
export class TargetRefused extends Error {
  override readonly name = 'TargetRefused';
}

/** The URL's host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Checks the URL's scheme against the rules (no DNS). */
export function schemeProblem(url: URL, rules: TargetRules): string | undefined {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return rules.allowHttp ? undefined : 'http:// targets are not allowed here (use https://)';
  return 'the scheme must be https';
}

export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves the target's host and checks every address it has (one forbidden address refuses the
 * whole host: which one a client would pick is not ours to guess). Throws TargetRefused.
 */
export async function checkTarget(raw: string, rules: TargetRules, resolve: Resolve = systemResolve): Promise<CheckedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused('not an absolute URL');
  }
  const scheme = schemeProblem(url, rules);
  if (scheme) throw new TargetRefused(scheme);
  const host = hostOf(url);
  let addresses: { address: string; family: number }[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      throw new TargetRefused(`${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (addresses.length === 0) throw new TargetRefused(`${host} has no address`);
  if (!rules.allowPrivateTargets) {
    const bad = addresses.find((a) => isForbiddenAddress(a.address));
    if (bad) {
      const what = host === bad.address ? bad.address : `${host} resolves to ${bad.address}, which`;
      throw new TargetRefused(`${what} is in a loopback, private, link-local or reserved range (not allowed)`);
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` that answers the checked address whatever name it is asked: the connection goes where the check said. */
export function pinnedLookup(target: CheckedTarget): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
}
