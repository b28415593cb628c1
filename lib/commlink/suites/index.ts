import { Errors } from '../errors.js';
import { aes256gcm } from './aes-256-gcm.js';
import { desEde3CbcHmac } from './des-ede3-cbc-hmac.js';
import type { CipherSuite, SuiteName } from './suite.js';

export type { CipherSuite, SuiteKey, SuiteName } from './suite.js';

const byName = new Map<string, CipherSuite>([
  [aes256gcm.name, aes256gcm],
  [desEde3CbcHmac.name, desEde3CbcHmac],
]);
const byId = new Map<number, CipherSuite>([...byName.values()].map((s) => [s.id, s]));

export const SUITE_NAMES: readonly SuiteName[] = Object.freeze([...byName.keys()] as SuiteName[]);
export const DEFAULT_SUITE: SuiteName = 'aes-256-gcm';

export function suiteByName(name: string): CipherSuite {
  const suite = byName.get(name);
  if (!suite) throw Errors.SUITE_UNSUPPORTED(`unknown cipher suite "${name}" (known: ${SUITE_NAMES.join(', ')})`, { suite: name });
  return suite;
}

export function suiteById(id: number): CipherSuite | undefined {
  return byId.get(id);
}
