import { createHash } from 'node:crypto';
import { Piscina } from 'piscina';
import type { ChunkCrypto, ChunkOpenJob, ChunkOpenResult, ChunkSealJob } from '../commlink/index.js';
import type { FileDigest } from '../file-digest.js';
import { checkSigningKey, type TicketSigningPool } from '../tickets/index.js';
import { CodedError } from '../errors/index.js';
import { CryptoPoolErrors } from './errors.js';
import { resolveCryptoPoolOptions, type CryptoPoolOptions } from './options.js';
import { asBuffer, ownedCopy, type CryptoTask, type OpenChunkAnswer, type SealChunkAnswer, type SignTicketAnswer } from './tasks.js';

/**
 * One piscina pool for the crypto hot paths: ticket signing, commlink chunk sealing and opening
 * (it is a commlink `chunkCrypto` hook), and the SHA-256 of files on disk. Which of them a host
 * sends here is its choice (see README.md for what the measurements say).
 *
 * `close()` refuses new tasks, aborts queued ones (ERR_CRYPTO_POOL_CLOSED) and terminates the
 * threads once the running tasks end.
 */
export class CryptoPool implements ChunkCrypto, TicketSigningPool {
  readonly options: Readonly<CryptoPoolOptions>;
  readonly #pool: Piscina<CryptoTask, unknown>;
  /** Registered private keys by id; a PEM crosses to a worker only when that worker asks. */
  readonly #signingKeys = new Map<string, string>();
  #closed = false;

  constructor(options: Partial<CryptoPoolOptions> = {}) {
    this.options = resolveCryptoPoolOptions(options);
    this.#pool = new Piscina<CryptoTask, unknown>({
      filename: new URL('./worker.js', import.meta.url).href,
      name: 'default',
      minThreads: this.options.minThreads,
      maxThreads: this.options.maxThreads,
      idleTimeout: this.options.idleTimeoutMs,
      maxQueue: this.options.maxQueue,
    });
  }

  get maxPendingChunks(): number {
    return this.options.maxPendingChunks;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Tasks waiting for a thread now. */
  get queueSize(): number {
    return this.#pool.queueSize;
  }

  /** Registers a PKCS#8 RSA private key (checked here, once) and returns the id signTicket takes. */
  addSigningKey(privateKeyPem: string): string {
    checkSigningKey(privateKeyPem, 'CryptoPool.addSigningKey');
    const keyId = createHash('sha256').update(privateKeyPem).digest('hex').slice(0, 32);
    this.#signingKeys.set(keyId, privateKeyPem);
    return keyId;
  }

  /**
   * The base64url PSS/SHA-256 signature over `signed` with a registered key. A worker that has
   * not loaded the key yet answers so, and gets the PEM in a second task (once per thread).
   */
  async signTicket(keyId: string, signed: string): Promise<string> {
    const pem = this.#signingKeys.get(keyId);
    if (pem === undefined) throw CryptoPoolErrors.UNKNOWN_KEY(`no signing key ${keyId} was added to this pool`);
    let answer = (await this.#run({ kind: 'sign-ticket', keyId, signed })) as SignTicketAnswer;
    if ('missingKey' in answer) answer = (await this.#run({ kind: 'sign-ticket', keyId, signed, pem })) as SignTicketAnswer;
    if ('missingKey' in answer) throw CryptoPoolErrors.TASK('a worker did not keep the signing key it was given');
    return answer.signature;
  }

  /** ChunkCrypto: the CHUNK packet's wire line, sealed in a worker (byte-identical to inline). */
  async sealChunk(job: ChunkSealJob): Promise<Buffer> {
    // Copied now (the caller may reuse its buffer) into buffers the worker gets by transfer.
    const data = ownedCopy(job.data);
    const keyMaterial = ownedCopy(job.keyMaterial);
    const task: CryptoTask = { kind: 'seal-chunk', job: { suite: job.suite, keyMaterial, seq: job.seq, streamId: job.streamId, data } };
    return asBuffer((await this.#run(task, [data.buffer as ArrayBuffer, keyMaterial.buffer as ArrayBuffer])) as SealChunkAnswer);
  }

  /** ChunkCrypto: the packet's plaintext, or why it was refused, opened in a worker. */
  async openChunk(job: ChunkOpenJob): Promise<ChunkOpenResult> {
    const line = ownedCopy(job.line);
    const keyMaterial = ownedCopy(job.keyMaterial);
    const task: CryptoTask = { kind: 'open-chunk', job: { suite: job.suite, keyMaterial, seq: job.seq, line } };
    const answer = (await this.#run(task, [line.buffer as ArrayBuffer, keyMaterial.buffer as ArrayBuffer])) as OpenChunkAnswer;
    return answer instanceof Uint8Array ? { plaintext: asBuffer(answer) } : answer;
  }

  /** The SHA-256 (hex) and size of a file on disk, read and hashed in a worker. */
  async sha256File(path: string): Promise<FileDigest> {
    return (await this.#run({ kind: 'sha256-file', path })) as FileDigest;
  }

  /** Refuses new tasks, aborts the queued ones, ends the threads after the running ones. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close({ force: true });
  }

  async #run(task: CryptoTask, transferList?: ArrayBuffer[]): Promise<unknown> {
    if (this.#closed) throw CryptoPoolErrors.CLOSED(`the crypto pool is closed; ${task.kind} refused`);
    try {
      return await this.#pool.run(task, transferList ? { transferList } : {});
    } catch (err) {
      if (err instanceof CodedError) throw err; // catalogued already
      if (this.#closed) throw CryptoPoolErrors.CLOSED(`the crypto pool closed before ${task.kind} ran`, {}, err);
      throw CryptoPoolErrors.TASK(`${task.kind} failed in the crypto pool: ${(err as Error)?.message ?? err}`, {}, err);
    }
  }
}
