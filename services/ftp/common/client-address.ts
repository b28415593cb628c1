/**
 * A client's address as the file host keys it (defender, per-address limits, audit): IPv4-mapped
 * IPv6 as plain IPv4, so one client is one key whichever protocol it uses and however the listening
 * socket was bound.
 */
export function sameAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
