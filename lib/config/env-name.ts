/**
 * The environment naming rule: `FFS_` + the field's keys from the root, each camelCase key turned
 * to UPPER_SNAKE, joined by a double underscore.
 *   dataDir                            → FFS_DATA_DIR
 *   commlink.keyCount                  → FFS_COMMLINK__KEY_COUNT
 *   services.internalDb.commlinkPort   → FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT
 */

export const ENV_PREFIX = 'FFS_';
export const ENV_SEPARATOR = '__';

/** camelCase → UPPER_SNAKE ('keyBagPath' → 'KEY_BAG_PATH', 'internalDb' → 'INTERNAL_DB'). */
export function upperSnake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toUpperCase();
}

export function envName(segments: readonly string[]): string {
  return ENV_PREFIX + segments.map(upperSnake).join(ENV_SEPARATOR);
}
