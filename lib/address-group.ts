import { isIPv4, isIPv6 } from 'node:net';

/**
 * The group a client address is counted in by per-address limits (the file host's brute-force
 * defender, the portal's sign-in limits):
 *
 * - an IPv4 address is its own group, and so is an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`,
 *   what a dual-stack listener reports for an IPv4 client) counted as that IPv4 address;
 * - an IPv6 address is counted by its /64 (`2001:db8:1:2::/64`): a host on an IPv6 network is
 *   handed a /64 and may pick any of its 2^64 addresses, so one address per attempt would defeat
 *   any per-address count;
 * - anything else (not an IP address) is its own group, as given.
 */
export function addressGroup(address: string): string {
  if (isIPv4(address)) return address;
  const bare = address.replace(/%.*$/, ''); // a zone (fe80::1%eth0) names an interface, not a host
  if (!isIPv6(bare)) return address;
  const groups = ipv6Groups(bare.toLowerCase());
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted quad read as two groups). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const tail = parse(text.slice(gap + 2));
  return [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
