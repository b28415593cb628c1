import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A man in the middle for commlink tests: forwards CR LF lines between a client and a server and
 * lets a test rewrite the client-to-server lines. The key index depends on the client's port, so
 * the proxy dials the server from 127.0.0.2 with the client's own port number: the server then
 * picks the same key as the client.
 */
export type LineHook = (line: string, index: number) => string[];

export class LineProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  hook: LineHook = (line) => [line];
  /** When true, nothing is forwarded in either direction any more (a black hole). */
  blackHole = false;
  /** Every server-to-client line forwarded (without CR LF), in order: what a recorder on the wire sees. */
  readonly serverLines: string[] = [];

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: targetPort, localAddress: '127.0.0.2', localPort: client.remotePort });
      this.#sockets.add(client).add(upstream);
      for (const s of [client, upstream]) {
        s.on('error', () => {});
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      let buffered = '';
      let index = 0;
      client.on('data', (chunk) => {
        if (this.blackHole) return;
        buffered += chunk.toString('latin1');
        let nl: number;
        while ((nl = buffered.indexOf('\r\n')) !== -1) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 2);
          for (const out of this.hook(line, index++)) upstream.write(out + '\r\n', 'latin1');
        }
      });
      let fromServer = '';
      upstream.on('data', (chunk: Buffer) => {
        if (this.blackHole) return;
        client.write(chunk);
        fromServer += chunk.toString('latin1');
        let nl: number;
        while ((nl = fromServer.indexOf('\r\n')) !== -1) {
          this.serverLines.push(fromServer.slice(0, nl));
          fromServer = fromServer.slice(nl + 2);
        }
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
