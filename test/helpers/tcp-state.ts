/**
 * The kernel's view of a TCP connection on this host (Linux, /proc/net/tcp): whether the server's
 * end of a client's connection is still open. A client that reads slowly sees a server's close
 * only after the bytes the kernel buffered (up to tcp_rmem + tcp_wmem, tens of MiB); the server's
 * socket leaves ESTABLISHED the moment the server closes it.
 */
import { readFile } from 'node:fs/promises';

/** /proc/net/tcp's state code of an established connection. */
const ESTABLISHED = '01';

/**
 * True while the server end (local port `serverPort`) of the loopback connection from
 * `clientPort` is ESTABLISHED; false once the server has closed it (FIN_WAIT1 while the kernel
 * still sends what was buffered, or gone after a reset).
 */
export async function serverEndOpen(serverPort: number, clientPort: number): Promise<boolean> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  const local = `:${serverPort.toString(16).toUpperCase().padStart(4, '0')}`;
  const remote = `:${clientPort.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n').slice(1)) {
    const [, localAddress, remoteAddress, state] = line.trim().split(/\s+/);
    if (localAddress?.endsWith(local) && remoteAddress?.endsWith(remote)) return state === ESTABLISHED;
  }
  return false;
}
