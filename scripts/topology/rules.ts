/**
 * The nftables rule set of each host's namespace. Every host drops what it was not told to accept
 * (policy drop on input); replies to its own connections and loopback always pass. Outbound traffic
 * is not filtered: what a host may reach is decided by the input rules of the host it reaches.
 *
 * - web:      HTTP from anyone (customers); the file-host commlink port from the file host only;
 *             in dial mode, the dial port from the internal host only.
 * - file:     FTP control, the passive range, SFTP and HTTP downloads from anyone (customers).
 * - internal: listen mode, the commlink port from the web host only; dial mode, nothing at all.
 */
import type { HostRole, TopologyPlan } from './plan.js';

export const TABLE = 'inet ffs';

/** The `accept` lines of one host's input chain. */
function acceptsOf(plan: TopologyPlan, role: HostRole): string[] {
  const { ports, addresses } = plan;
  switch (role) {
    case 'web':
      return [
        `tcp dport ${ports.webHttp} accept comment "customers: portal and REST API"`,
        `ip saddr ${addresses.file} tcp dport ${ports.webCommlink} accept comment "the file host dials in"`,
        ...(plan.internalMode === 'dial'
          ? [`ip saddr ${addresses.internal} tcp dport ${ports.dial} accept comment "the internal-db dials out to the web host"`]
          : []),
      ];
    case 'file':
      return [
        `tcp dport { ${ports.ftp}, ${ports.sftp}, ${ports.fileHttp} } accept comment "customers: FTP control, SFTP, HTTP downloads"`,
        `tcp dport ${ports.passiveMin}-${ports.passiveMax} accept comment "customers: FTP passive data connections"`,
      ];
    case 'internal':
      return plan.internalMode === 'listen'
        ? [`ip saddr ${addresses.web} tcp dport ${ports.internalCommlink} accept comment "only the web host dials the internal-db"`]
        : [];
  }
}

/** The whole rule set of one host's namespace, as `nft -f` reads it (it replaces what was there). */
export function rulesFor(plan: TopologyPlan, role: HostRole): string {
  return [
    'flush ruleset',
    `table ${TABLE} {`,
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iif "lo" accept',
    '    ct state invalid drop',
    '    ct state established,related accept',
    ...acceptsOf(plan, role).map((line) => `    ${line}`),
    '  }',
    '}',
    '',
  ].join('\n');
}
