import { defineError } from '../errors/index.js';

/**
 * The crypto pool's errors, each with a stable code (lib/errors). A caller matches on `code`,
 * never on the message.
 */
export const CryptoPoolErrors = {
  OPTIONS: defineError('ERR_CRYPTO_POOL_OPTIONS', 'A crypto pool option has an invalid value (the message names it).'),
  CLOSED: defineError('ERR_CRYPTO_POOL_CLOSED', 'The crypto pool is closed: the task was refused, or aborted while queued.'),
  TASK: defineError('ERR_CRYPTO_POOL_TASK', 'A task failed in its worker thread (the cause says why).'),
  UNKNOWN_KEY: defineError('ERR_CRYPTO_POOL_UNKNOWN_KEY', 'signTicket named a key id that addSigningKey did not return.'),
} as const;
