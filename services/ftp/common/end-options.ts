/**
 * What ending a customer's access covers (FileHostService.endCustomer, and each protocol's):
 * without `paths`, every session and download of the customer ends; with `paths` (prefixes of area
 * paths, such as `/product/version/`: releases the customer has just lost), only transfers of
 * those files are cut off, and the sessions stay. `reason` is what the client is told where the
 * protocol has words for it (FTP 426/421, SFTP status, SSH disconnect).
 */
export interface EndOptions {
  paths?: readonly string[];
  reason?: string;
}

/** Whether `path` lies under one of `prefixes` (or is one). */
export function underAny(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => path.startsWith(p));
}
