export { CryptoPool } from './pool.js';
export { cryptoPoolDefaults, resolveCryptoPoolOptions, type CryptoPoolOptions } from './options.js';
export { CryptoPoolErrors } from './errors.js';
export type { FileDigest } from '../file-digest.js';
