import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

/**
 * The most the kernel may hold between a sender and a receiver on this host: the largest send
 * buffer (net.ipv4.tcp_wmem's maximum) and the largest receive buffer (tcp_rmem's), to which
 * autotuning may grow them. An aborted download's audited bytes may exceed what the client read by
 * this much: those bytes left the process (the socket took them) but sat in the buffers.
 */
export async function kernelSocketBuffers(): Promise<number> {
  const max = async (name: string) => Number((await readFile(`/proc/sys/net/ipv4/${name}`, 'utf8')).trim().split(/\s+/)[2]);
  return (await max('tcp_wmem')) + (await max('tcp_rmem'));
}

/** What the client's own socket may hold unread once paused (Node's readable buffer and one chunk). */
export const CLIENT_READ_BUFFER = 256 * 1024;

/**
 * Reads `socket` until `n` bytes of body have come (after the HTTP head when `http`), then stops
 * reading (`stall`: the socket is paused, the connection stays) or hangs up (`close`). Resolves
 * with the body bytes read.
 */
export function readThen(socket: Socket, n: number, action: 'stall' | 'close', http = false): Promise<number> {
  return new Promise((resolve, reject) => {
    let head = http ? Buffer.alloc(0) : undefined;
    let body = 0;
    const onData = (chunk: Buffer) => {
      if (head) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!/^HTTP\/1\.1 200 /.test(head.toString('latin1'))) return reject(new Error(`unexpected answer: ${head.toString('latin1').slice(0, 80)}`));
        chunk = head.subarray(end + 4);
        head = undefined;
      }
      body += chunk.length;
      if (body < n) return;
      socket.off('data', onData);
      if (action === 'stall') socket.pause();
      else socket.destroy();
      resolve(body);
    };
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.once('close', () => (body < n ? reject(new Error(`the connection closed after ${body} bytes`)) : undefined));
  });
}
