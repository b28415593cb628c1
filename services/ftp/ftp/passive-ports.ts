import { createServer, type Server } from 'node:net';

export interface PassivePort {
  readonly server: Server;
  readonly port: number;
  /** Stops listening and gives the port back (idempotent). */
  release(): void;
}

/**
 * The passive-mode port range. ftp-srv probes a port with a throwaway server, closes it and binds
 * the real one later, so two sessions can be handed the same port (EADDRINUSE on the data server,
 * and a PASV that never answers); and its data servers outlive failed commands. Here a port is
 * taken by binding it directly, and the set of ports this server holds is kept, so within the
 * process no port is handed out twice, and another process's port is skipped (EADDRINUSE).
 *
 * Invariant: a port is in `#held` exactly while a server of ours listens on it; `release` closes
 * the listening socket at once (accepted connections live on; they do not hold the port).
 */
export class PassivePorts {
  readonly #host: string;
  readonly #min: number;
  readonly #size: number;
  readonly #held = new Set<number>();
  #cursor = 0;

  constructor(options: { host: string; min: number; max: number }) {
    this.#host = options.host;
    this.#min = options.min;
    this.#size = options.max - options.min + 1;
  }

  /** Ports listening now. */
  get held(): number {
    return this.#held.size;
  }

  /** A listening server on a free port of the range; undefined when every port is taken. */
  async listen(): Promise<PassivePort | undefined> {
    for (let tried = 0; tried < this.#size; tried++) {
      const port = this.#min + (this.#cursor++ % this.#size);
      if (this.#held.has(port)) continue;
      this.#held.add(port);
      const server = createServer({ pauseOnConnect: true });
      try {
        await listenOn(server, port, this.#host);
      } catch (err) {
        this.#held.delete(port);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES') continue; // another process has it
        throw err;
      }
      let released = false;
      return {
        server,
        port,
        release: () => {
          if (released) return;
          released = true;
          server.close();
          this.#held.delete(port);
        },
      };
    }
    return undefined;
  }
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
