import { randomBytes } from 'node:crypto';
import type { ChannelOptions } from './channel-types.js';
import { dataKeys, helloLine, readHello } from './handshake.js';
import type { Direction } from './kdf.js';
import { KeyShare } from './key-share.js';
import { SALT_LENGTH } from './packet.js';
import { suiteByName, type CipherSuite } from './suites/index.js';

/** What a verified peer hello settles: the suite, the data key material of each direction, and the peer's window. */
export interface HelloOutcome {
  readonly suite: CipherSuite;
  readonly send: Buffer;
  readonly recv: Buffer;
  readonly window: number;
  /** The server's answering hello, to write before anything else (absent on the client). */
  readonly reply: Buffer | undefined;
}

type HelloOptions = Pick<ChannelOptions, 'role' | 'bag' | 'suite' | 'acceptSuites' | 'window'>;

/**
 * One connection's hello exchange (PROTOCOL.md §8): each end sends a fresh salt and an ephemeral
 * X25519 public key, sealed with the bag key its client port picks; the data keys derive from the
 * X25519 secret and the bag key together. The private key is dropped once the keys are derived, so
 * a bag stolen later opens no recorded session (forward secrecy).
 */
export class HelloExchange {
  readonly #options: HelloOptions;
  readonly #clientPort: number;
  readonly #ownSalt = randomBytes(SALT_LENGTH);
  #share: KeyShare | undefined;
  #offered: CipherSuite | undefined;

  constructor(options: HelloOptions, clientPort: number) {
    this.#options = options;
    this.#clientPort = clientPort;
  }

  /** The client's opening hello, offering its suite. */
  clientHello(): Buffer {
    this.#offered = suiteByName(this.#options.suite);
    this.#share = new KeyShare();
    return this.#line(this.#offered, 'c2s');
  }

  /** Verifies the peer's hello (throws ERR_HANDSHAKE and kin); derives the data keys. */
  receive(packet: Buffer): HelloOutcome {
    const { role, bag, acceptSuites } = this.#options;
    const hello = readHello(packet, { role, bag, acceptSuites, offered: this.#offered, clientPort: this.#clientPort, ownSalt: this.#ownSalt });
    const suite = hello.suite;
    let outcome: HelloOutcome;
    if (role === 'server') {
      this.#share = new KeyShare();
      const secret = this.#share.secretWith(hello.peerShare); // refuses a low-order share before we answer
      const clientSalt = Buffer.from(hello.peerSalt);
      const reply = this.#line(suite, 's2c', clientSalt);
      const hellos = { clientSalt, serverSalt: this.#ownSalt, clientShare: hello.peerShare, serverShare: this.#share.publicKey };
      outcome = { suite, ...dataKeys(suite, secret, hello.bagKey, hellos, role), window: hello.window, reply };
    } else {
      const share = this.#share as KeyShare;
      const secret = share.secretWith(hello.peerShare);
      const hellos = { clientSalt: this.#ownSalt, serverSalt: Buffer.from(hello.peerSalt), clientShare: share.publicKey, serverShare: hello.peerShare };
      outcome = { suite, ...dataKeys(suite, secret, hello.bagKey, hellos, role), window: hello.window, reply: undefined };
    }
    this.#share = undefined; // the ephemeral private key is not needed again: forward secrecy
    return outcome;
  }

  #line(suite: CipherSuite, dir: Direction, echo?: Buffer): Buffer {
    const share = (this.#share as KeyShare).publicKey;
    const bagKey = this.#options.bag.keyForPort(this.#clientPort);
    return helloLine(suite, bagKey, this.#options.bag, this.#ownSalt, dir, { share, window: this.#options.window, ...(echo ? { echo } : {}) });
  }
}
