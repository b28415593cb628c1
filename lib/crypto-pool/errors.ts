/**
 * The crypto pool's errors, each with a stable code. A caller matches on `code`, never on the
 * message.
 */
export class CryptoPoolError extends Error {
  readonly code: string;

  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CryptoPoolError';
    this.code = code;
  }
}

export interface CryptoPoolErrorDefinition {
  readonly code: string;
  readonly description: string;
  (message: string, cause?: unknown): CryptoPoolError;
}

function define(code: string, description: string): CryptoPoolErrorDefinition {
  return Object.assign((message: string, cause?: unknown) => new CryptoPoolError(code, message, cause), { code, description });
}

export const CryptoPoolErrors = {
  OPTIONS: define('ERR_CRYPTO_POOL_OPTIONS', 'A crypto pool option has an invalid value (the message names it).'),
  CLOSED: define('ERR_CRYPTO_POOL_CLOSED', 'The crypto pool is closed: the task was refused, or aborted while queued.'),
  TASK: define('ERR_CRYPTO_POOL_TASK', 'A task failed in its worker thread (the cause says why).'),
  UNKNOWN_KEY: define('ERR_CRYPTO_POOL_UNKNOWN_KEY', 'signTicket named a key id that addSigningKey did not return.'),
} as const;
