import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Errors } from './errors.js';
import { channelOptions, resolveOptions, type CommlinkOptions, type ResolvedOptions } from './options.js';
import { Peer } from './peer.js';
import { RefusalLog } from './refusal-log.js';
import { SecureChannel } from './secure-channel.js';
import type { KeyBag } from './keybag.js';
import { type CodedError } from '../errors/index.js';

/**
 * Accepts commlink connections. Each verified connection becomes a Peer (event 'peer'), which
 * serves `handlers` and on which this side may also send requests (the reverse-dial case: the
 * dialling side serves, the listening side asks).
 *
 * Events: 'peer' (peer), 'rejected' (error, remoteAddress) for a connection refused at hello or
 * later closed for a protocol violation.
 *
 * Before the hello (PROTOCOL.md §7, §8): at most `maxHandshaking` connections are in the hello
 * exchange at once (a new one beyond is closed at once, ERR_HANDSHAKE_LIMIT), each holding at most
 * a hello-sized partial line, for at most `handshakeTimeoutMs`; so unauthenticated peers can make
 * a listener hold about maxHandshaking × 1 KiB, whatever they send. Refusals are logged at most
 * `refusalLogLines` per `refusalLogIntervalMs`, the rest counted.
 */
export class CommlinkServer extends EventEmitter {
  readonly #options: ResolvedOptions;
  readonly #server: Server;
  readonly #peers = new Set<Peer>();
  readonly #handshaking = new Set<SecureChannel>();
  readonly #log;
  readonly #refusals: RefusalLog;
  #closing = false;

  constructor(options: Partial<CommlinkOptions> & { bag: KeyBag }) {
    super();
    this.#options = resolveOptions(options);
    this.#log = this.#options.log.child({ component: 'commlink-server' });
    this.#refusals = new RefusalLog(this.#log, { lines: this.#options.refusalLogLines, intervalMs: this.#options.refusalLogIntervalMs });
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (err) => this.emit('error', err));
  }

  get peers(): ReadonlySet<Peer> {
    return this.#peers;
  }

  /** Starts listening; port 0 picks a free port. Resolves with the bound address. */
  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  /** Stops accepting, lets every peer finish its requests (up to graceMs), then closes them. */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const channel of this.#handshaking) channel.destroy();
    await Promise.all([...this.#peers].map((peer) => peer.close(graceMs)));
    await stopped;
    this.#refusals.flush();
  }

  /** Connections in the hello exchange now (not yet authenticated). */
  get handshaking(): number {
    return this.#handshaking.size;
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const o = this.#options;
    const log = this.#log;
    if (this.#handshaking.size >= o.maxHandshaking) {
      // Refused before anything is read: an unauthenticated flood costs one socket each, briefly.
      const remote = socket.remoteAddress ?? '?';
      const error = Errors.HANDSHAKE_LIMIT(`${o.maxHandshaking} connections already in the hello exchange (commlink.maxHandshaking)`, {
        limit: o.maxHandshaking,
      });
      socket.on('error', () => {});
      socket.destroy();
      this.#refusals.warn(log.child({ peer: `${remote}:${socket.remotePort ?? 0}`, role: 'server' }), 'commlink connection rejected', {
        reason: error.message,
        code: error.code,
      });
      this.emit('rejected', error, remote);
      return;
    }
    const channel = new SecureChannel(socket, channelOptions(o, 'server', log, this.#refusals));
    this.#handshaking.add(channel);
    channel.ready.then(
      (hello) => {
        this.#handshaking.delete(channel);
        const peer = new Peer(channel, hello, { ...o, log });
        if (this.#closing) {
          peer.destroy();
          return;
        }
        this.#peers.add(peer);
        peer.once('close', (error?: CodedError) => {
          this.#peers.delete(peer);
          if (error && error.code !== Errors.CLOSED.code) this.emit('rejected', error, channel.remoteAddress);
        });
        this.emit('peer', peer);
      },
      (error: CodedError) => {
        this.#handshaking.delete(channel);
        this.emit('rejected', error, channel.remoteAddress);
      },
    );
  }
}
