export { CryptoPool } from './pool.js';
export { cryptoPoolDefaults, resolveCryptoPoolOptions, type CryptoPoolOptions } from './options.js';
export { CryptoPoolError, CryptoPoolErrors, type CryptoPoolErrorDefinition } from './errors.js';
export type { FileDigest } from '../file-digest.js';
