import { configSchema } from './schema.js';

/** The configuration with every field at its default (paths not yet resolved). */
export const CONFIG_DEFAULTS = configSchema.parse({});

/**
 * The named fields of a configuration section, frozen: how a service takes its settings (and their
 * defaults, from CONFIG_DEFAULTS) from the one schema instead of restating them.
 */
export function pickFields<T extends object, K extends keyof T>(section: T, keys: readonly K[]): Readonly<Pick<T, K>> {
  const out = {} as Pick<T, K>;
  for (const key of keys) out[key] = section[key];
  return Object.freeze(out);
}
