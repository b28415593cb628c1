/**
 * The plan of a three-host topology: names and addresses derived from a prefix and a /24 subnet,
 * and the ports the firewall opens. Pure: nothing here touches the system (network.ts does).
 *
 *   root namespace (customers)  <prefix>-cust  .1 ─┐
 *   <prefix>-web       eth0  .10 ─────────────────┤
 *   <prefix>-file      eth0  .20 ─────────────────┼─ br0 in <prefix>-lan (a switch: no address)
 *   <prefix>-internal  eth0  .30 ─────────────────┘
 */

export type HostRole = 'web' | 'file' | 'internal';
export const HOST_ROLES: readonly HostRole[] = ['web', 'file', 'internal'];

export type InternalMode = 'listen' | 'dial';

/** The ports the rules open; the defaults are the configuration's (lib/config/CONFIG.md). */
export interface TopologyPorts {
  /** services.web.port: the portal and the REST API. */
  webHttp: number;
  /** services.web.commlinkPort: file hosts dial it. */
  webCommlink: number;
  /** services.internalDb.commlinkPort: the web host dials it (listen mode). */
  internalCommlink: number;
  /** services.internalDb.dialPort: the internal-db dials the web host there (dial mode). */
  dial: number;
  /** services.ftp.httpPort: signed-ticket HTTP downloads. */
  fileHttp: number;
  /** services.ftp.ftpPort: FTP control. */
  ftp: number;
  /** services.ftp.sftpPort. */
  sftp: number;
  /** services.ftp.ftpPassivePortMin / Max. */
  passiveMin: number;
  passiveMax: number;
}

export const DEFAULT_PORTS: Readonly<TopologyPorts> = Object.freeze({
  webHttp: 8080,
  webCommlink: 7400,
  internalCommlink: 7402,
  dial: 7403,
  fileHttp: 8081,
  ftp: 2121,
  sftp: 2222,
  passiveMin: 30000,
  passiveMax: 30199,
});

export const DEFAULT_PREFIX = 'ffs';
export const DEFAULT_SUBNET = '10.77.0.0/24';

export interface TopologyOptions {
  prefix: string;
  /** An IPv4 /24, written `a.b.c.0/24`. */
  subnet: string;
  internalMode: InternalMode;
  ports: TopologyPorts;
}

/** What a topology is called and where its hosts are; the JSON that `up --json` writes. */
export interface TopologyPlan {
  prefix: string;
  subnet: string;
  internalMode: InternalMode;
  ports: TopologyPorts;
  /** Network namespace of each host, and of the switch joining them. */
  namespaces: Record<HostRole | 'lan', string>;
  /** IPv4 address of each host; `customer` is the root namespace's end of its link. */
  addresses: Record<HostRole | 'customer', string>;
  /** The root namespace's interface (the customer side's link to the switch). */
  customerInterface: string;
  /** Prefix length of every address. */
  prefixLength: 24;
}

/** Host numbers inside the /24. */
const HOST_NUMBER: Record<HostRole | 'customer', number> = { customer: 1, web: 10, file: 20, internal: 30 };

/** Letters and digits, starting with a letter; at most 10, so `<prefix>-cust` fits IFNAMSIZ (15). */
const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,9}$/;

export class TopologyUsageError extends Error {
  override readonly name = 'TopologyUsageError';
}

/** The three leading octets of an `a.b.c.0/24`, or an error naming the value. */
export function parseSubnet(subnet: string): [number, number, number] {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
  const octets = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [];
  if (!match || octets.some((o) => o > 255)) throw new TopologyUsageError(`subnet must be an IPv4 /24 written a.b.c.0/24 (got ${JSON.stringify(subnet)})`);
  return octets as [number, number, number];
}

function checkPorts(ports: TopologyPorts): void {
  for (const [name, port] of Object.entries(ports)) {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new TopologyUsageError(`port ${name} must be an integer from 1 to 65535 (got ${String(port)})`);
  }
  if (ports.passiveMin > ports.passiveMax) throw new TopologyUsageError(`the passive range is empty (${ports.passiveMin}-${ports.passiveMax})`);
}

/** Validates the options and derives every name and address. */
export function planTopology(options: TopologyOptions): TopologyPlan {
  if (!PREFIX_PATTERN.test(options.prefix))
    throw new TopologyUsageError(`prefix must be 1-10 lowercase letters and digits, starting with a letter (got ${JSON.stringify(options.prefix)})`);
  if (options.internalMode !== 'listen' && options.internalMode !== 'dial')
    throw new TopologyUsageError(`internal mode must be listen or dial (got ${JSON.stringify(options.internalMode)})`);
  checkPorts(options.ports);
  const [a, b, c] = parseSubnet(options.subnet);
  const address = (role: HostRole | 'customer') => `${a}.${b}.${c}.${HOST_NUMBER[role]}`;
  const p = options.prefix;
  return {
    prefix: p,
    subnet: options.subnet,
    internalMode: options.internalMode,
    ports: { ...options.ports },
    namespaces: { web: `${p}-web`, file: `${p}-file`, internal: `${p}-internal`, lan: `${p}-lan` },
    addresses: { customer: address('customer'), web: address('web'), file: address('file'), internal: address('internal') },
    customerInterface: `${p}-cust`,
    prefixLength: 24,
  };
}

/** The namespaces and the root interface a prefix names, whatever subnet or mode made them (for `down`). */
export function namesOf(prefix: string): { namespaces: string[]; customerInterface: string } {
  if (!PREFIX_PATTERN.test(prefix))
    throw new TopologyUsageError(`prefix must be 1-10 lowercase letters and digits, starting with a letter (got ${JSON.stringify(prefix)})`);
  return { namespaces: [`${prefix}-web`, `${prefix}-file`, `${prefix}-internal`, `${prefix}-lan`], customerInterface: `${prefix}-cust` };
}

/** True when two IPv4 networks (address, prefix length) overlap. */
export function networksOverlap(a: { address: string; length: number }, b: { address: string; length: number }): boolean {
  const value = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const length = Math.min(a.length, b.length);
  const size = 2 ** (32 - length);
  return Math.floor(value(a.address) / size) === Math.floor(value(b.address) / size);
}
