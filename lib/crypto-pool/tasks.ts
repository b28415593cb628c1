import type { ChunkOpenJob, ChunkOpenResult, ChunkSealJob } from '../commlink/index.js';

/**
 * The tasks the crypto pool's workers run, dispatched by `kind`, and their answers. Buffers cross
 * the thread boundary as Uint8Arrays: see `asBuffer`.
 */
export type CryptoTask =
  | { readonly kind: 'sign-ticket'; readonly keyId: string; readonly signed: string; /** Only when the worker said it lacks the key. */ readonly pem?: string }
  | { readonly kind: 'seal-chunk'; readonly job: ChunkSealJob }
  | { readonly kind: 'open-chunk'; readonly job: ChunkOpenJob }
  | { readonly kind: 'sha256-file'; readonly path: string };

export type SignTicketAnswer = { readonly signature: string } | { readonly missingKey: true };
export type SealChunkAnswer = Uint8Array;
/** The plaintext (moved, so it is the answer itself), or why the packet was refused. */
export type OpenChunkAnswer = Uint8Array | Exclude<ChunkOpenResult, { plaintext: Buffer }>;

/** A Buffer over a received Uint8Array's bytes (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A copy of `bytes` that owns its whole ArrayBuffer, so it can be transferred (moving a view
 * of a shared or pooled ArrayBuffer would move, or clone, every other view's bytes too).
 */
export function ownedCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** True when `bytes` is the whole of its ArrayBuffer: transferring it moves nothing else. */
export function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
}
