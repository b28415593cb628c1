import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ExecutionContext } from 'ava';
import { silentLogger, type Logger } from '../../lib/log/logger.js';
import { InternalDbService } from '../../services/internal-db/service.js';
import { WebService, type WebHttpSettings } from '../../services/web/service.js';
import { ticketKeys, type Chain } from './chain.js';
import { internalDbOptions } from './internal-db.js';

/**
 * Another web host on the chain's internal-db (a scaled-out web tier): its own portal and API on
 * port 0, the same session keys when given (a cookie of one works on the other). `internalDbPort`:
 * dial the internal-db there instead (through a proxy a test can cut).
 */
export async function startWebHost(
  t: ExecutionContext,
  chain: Chain,
  options: { http?: Partial<WebHttpSettings>; sessionKeys: string[]; internalDbPort?: number; log?: Logger },
): Promise<WebService> {
  const web = await WebService.start({
    host: '127.0.0.1',
    commlinkPort: 0,
    internalDb: {
      mode: 'listen',
      host: '127.0.0.1',
      port: options.internalDbPort ?? chain.service.address!.port,
      dialListenHost: '127.0.0.1',
      dialListenPort: 0,
    },
    commlink: { reconnectMinMs: 20, reconnectMaxMs: 200 },
    bags: { fileHosts: chain.fileHostBag, internalDb: chain.bag },
    ticketPrivateKeyPem: ticketKeys().privateKeyPem,
    ticketTtlSeconds: 300,
    http: { port: 0, opsPort: 0, checkApiResponses: true, ...options.http, sessionKeys: options.sessionKeys },
    log: options.log ?? silentLogger,
  });
  t.teardown(() => web.close(0));
  if (!(await web.db.waitConnected(5000))) throw new Error('the second web host did not connect to the internal-db within 5 s');
  return web;
}

/**
 * The chain's internal-db started again on its database file (after `chain.service.close()`), on
 * `port` (0: a port no web host knows, so that nothing reaches it; the old port: the web hosts
 * reconnect). Closed at teardown.
 */
export async function restartInternalDb(t: ExecutionContext, chain: Chain, port: number): Promise<InternalDbService> {
  const service = await InternalDbService.start({ ...internalDbOptions(chain.dir, chain.bag), listenPort: port });
  t.teardown(() => service.close(0));
  return service;
}

/** Requests of an operation a web host has sent the internal-db so far, whatever their outcome (from its metrics). */
export async function requestsSent(web: WebService, op: string): Promise<number> {
  const text = await web.metrics.text();
  let sent = 0;
  const pattern = /^ffs_web_commlink_request_duration_seconds_count\{peer="internal-db",op="([^"]+)",outcome="\w+"\} (\d+)$/gm;
  for (const m of text.matchAll(pattern)) if (m[1] === op) sent += Number(m[2]);
  return sent;
}

/**
 * A TCP proxy to a commlink server that a test can cut (every connection dropped, new ones closed
 * at once) and heal. Like LineProxy it dials from 127.0.0.2 with the client's own port number, so
 * that the server picks the same key as the client.
 */
export class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port: targetPort, localAddress: '127.0.0.2', localPort: client.remotePort });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  /** Drops every connection, and closes new ones at once, until `heal`. */
  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  heal(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
