import type NodeRSA from 'node-rsa';
import { move } from 'piscina';
import { openChunkLine, sealChunkLine } from '../commlink/index.js';
import { digestFile, type FileDigest } from '../file-digest.js';
import { loadSigningKey, signatureFor } from '../tickets/index.js';
import { asBuffer, ownedCopy, ownsBuffer, type CryptoTask, type OpenChunkAnswer, type SealChunkAnswer, type SignTicketAnswer } from './tasks.js';

/** Signing keys this thread has loaded, by key id: each PEM is parsed once per thread. */
const signingKeys = new Map<string, NodeRSA>();

/** Hands a buffer back by transfer when that moves nothing else, else by copy. */
function handBack(bytes: Buffer): Uint8Array {
  return move(ownsBuffer(bytes) ? bytes : ownedCopy(bytes)) as Uint8Array;
}

function signTicket(task: Extract<CryptoTask, { kind: 'sign-ticket' }>): SignTicketAnswer {
  let key = signingKeys.get(task.keyId);
  if (!key) {
    if (task.pem === undefined) return { missingKey: true };
    key = loadSigningKey(task.pem, 'the crypto pool');
    signingKeys.set(task.keyId, key);
  }
  return { signature: signatureFor(key, task.signed) };
}

function sealChunk(task: Extract<CryptoTask, { kind: 'seal-chunk' }>): SealChunkAnswer {
  const { job } = task;
  return handBack(sealChunkLine({ ...job, keyMaterial: asBuffer(job.keyMaterial), data: asBuffer(job.data) }));
}

function openChunk(task: Extract<CryptoTask, { kind: 'open-chunk' }>): OpenChunkAnswer {
  const { job } = task;
  const result = openChunkLine({ ...job, keyMaterial: asBuffer(job.keyMaterial), line: asBuffer(job.line) });
  return 'plaintext' in result ? handBack(result.plaintext) : result; // a moved value must be the answer itself
}

/** The crypto pool's worker entry: one task, dispatched by its `kind`. */
export default function run(task: CryptoTask): SignTicketAnswer | SealChunkAnswer | OpenChunkAnswer | Promise<FileDigest> {
  switch (task.kind) {
    case 'sign-ticket':
      return signTicket(task);
    case 'seal-chunk':
      return sealChunk(task);
    case 'open-chunk':
      return openChunk(task);
    case 'sha256-file':
      return digestFile(task.path);
    default:
      throw new TypeError(`unknown crypto pool task kind ${JSON.stringify((task as { kind: unknown }).kind)}`);
  }
}
