import { pickFields } from '../config/defaults.js';
import { commlinkFields, commlinkRuleBreaks } from '../config/schema.js';
import type { ChunkCrypto } from './chunk-crypto.js';
import { Errors } from './errors.js';
import type { KeyBag } from './keybag.js';
import type { Handler, Handlers } from './peer.js';
import { SUITE_NAMES, type SuiteName } from './suites/index.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { RefusalLog } from './refusal-log.js';
import type { ChannelOptions } from './channel-types.js';

/** Options shared by CommlinkServer and CommlinkClient. Field names match config `commlink.*`. */
export interface CommlinkOptions {
  bag: KeyBag;
  /** Client: the suite it offers. */
  suite: SuiteName;
  /** Server: the suites it accepts. */
  acceptSuites: readonly SuiteName[];
  maxPacketLength: number;
  requestTimeoutMs: number;
  handshakeTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxInFlight: number;
  streamWindowBytes: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Server: connections in the hello exchange at once; more are refused at once. */
  maxHandshaking: number;
  /** Warn lines about refused connections per refusalLogIntervalMs; the rest are counted. */
  refusalLogLines: number;
  refusalLogIntervalMs: number;
  /** Bytes the DES suite seals under one key before the sender moves to the next (PROTOCOL.md §6.3). */
  desKeyLimitBytes: number;
  /** Operations this end serves (either end may serve: reverse dial). */
  handlers: Handlers | Record<string, Handler>;
  log: Logger;
  /**
   * Seals and opens CHUNK packets off the event loop (e.g. lib/crypto-pool's CryptoPool). Absent
   * (the default): inline, as always. The wire format is the same either way.
   */
  chunkCrypto?: ChunkCrypto;
}

export type ResolvedOptions = Readonly<Omit<CommlinkOptions, 'handlers'> & { handlers: Handlers }>;

/** The configuration's commlink fields that are connection options (the key bags' paths and size are not). */
const CONFIG_OPTION_FIELDS = {
  suite: true,
  acceptSuites: true,
  maxPacketLength: true,
  requestTimeoutMs: true,
  heartbeatIntervalMs: true,
  heartbeatTimeoutMs: true,
  reconnectMinMs: true,
  reconnectMaxMs: true,
  maxInFlight: true,
  streamWindowBytes: true,
  maxHandshaking: true,
  refusalLogLines: true,
  refusalLogIntervalMs: true,
  desKeyLimitBytes: true,
  handshakeTimeoutMs: true,
} as const;

/**
 * The options that have a default and bounds: the configuration's commlink fields, whose schema
 * (lib/config/schema.ts) is their one source.
 */
const optionFields = commlinkFields.pick(CONFIG_OPTION_FIELDS);

const parsedDefaults = optionFields.parse({});

/** The options' defaults (those of the configuration's commlink section). */
export const defaults = Object.freeze({ ...parsedDefaults, acceptSuites: Object.freeze([...parsedDefaults.acceptSuites]) });

const INT_FIELDS = [
  'maxPacketLength',
  'requestTimeoutMs',
  'handshakeTimeoutMs',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'maxInFlight',
  'streamWindowBytes',
  'reconnectMinMs',
  'reconnectMaxMs',
  'maxHandshaking',
  'refusalLogLines',
  'refusalLogIntervalMs',
  'desKeyLimitBytes',
] as const satisfies readonly (keyof typeof defaults)[];

/** Each integer option's [min, max], read from its schema. */
const INT_RANGES: ReadonlyMap<string, readonly [number, number]> = new Map(
  INT_FIELDS.map((field) => {
    const { minValue, maxValue } = optionFields.shape[field].unwrap();
    if (minValue === null || maxValue === null) throw new TypeError(`commlink options: ${field} has no bounds in the schema`);
    return [field, [minValue, maxValue] as const];
  }),
);

/** Applies defaults, checks every field (the message names it), and freezes the result. */
export function resolveOptions(input: Partial<CommlinkOptions> & { bag: KeyBag }): ResolvedOptions {
  const merged = { ...defaults, log: createLogger(), handlers: new Map<string, Handler>(), ...stripUndefined(input) };
  if (!merged.bag || typeof merged.bag.keyForPort !== 'function') throw invalid('bag', 'must be a KeyBag');
  for (const [field, [min, max]] of INT_RANGES) {
    const value = (merged as unknown as Record<string, unknown>)[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalid(field, `must be an integer between ${min} and ${max}, got ${String(value)}`);
    }
  }
  if (!SUITE_NAMES.includes(merged.suite)) throw invalid('suite', `must be one of ${SUITE_NAMES.join(', ')}, got ${String(merged.suite)}`);
  if (!Array.isArray(merged.acceptSuites) || merged.acceptSuites.length === 0 || merged.acceptSuites.some((s) => !SUITE_NAMES.includes(s))) {
    throw invalid('acceptSuites', `must be a non-empty list of ${SUITE_NAMES.join(', ')}`);
  }
  if (merged.chunkCrypto !== undefined) checkChunkCrypto(merged.chunkCrypto);
  const [broken] = commlinkRuleBreaks(merged, 'options.');
  if (broken) throw invalid(broken.field, broken.message);
  const handlers = merged.handlers instanceof Map ? new Map(merged.handlers) : new Map(Object.entries(merged.handlers));
  for (const [op, handler] of handlers) {
    if (typeof handler !== 'function') throw invalid(`handlers.${op}`, 'must be a function');
    if (op.startsWith('ffs.') || !/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(op)) throw invalid(`handlers.${op}`, 'is not a valid operation name');
  }
  return Object.freeze({ ...merged, bag: merged.bag, acceptSuites: Object.freeze([...merged.acceptSuites]), handlers });
}

function checkChunkCrypto(hook: ChunkCrypto): void {
  if (typeof hook !== 'object' || hook === null || typeof hook.sealChunk !== 'function' || typeof hook.openChunk !== 'function') {
    throw invalid('chunkCrypto', 'must have sealChunk and openChunk functions');
  }
  const max = hook.maxPendingChunks;
  if (!Number.isInteger(max) || max < 1 || max > 1024)
    throw invalid('chunkCrypto', `maxPendingChunks must be an integer between 1 and 1024, got ${String(max)}`);
}

function invalid(field: string, message: string) {
  return Errors.CONFIG(`options.${field} ${message}`, { field });
}

function stripUndefined<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The SecureChannel options for one side of a connection, from the resolved options. */
export function channelOptions(o: ResolvedOptions, role: 'client' | 'server', log: Logger, refusals: RefusalLog): ChannelOptions {
  return {
    role,
    bag: o.bag,
    suite: o.suite,
    acceptSuites: o.acceptSuites,
    maxPacketLength: o.maxPacketLength,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    window: o.streamWindowBytes,
    desKeyLimitBytes: o.desKeyLimitBytes,
    log,
    refusals,
    chunkCrypto: o.chunkCrypto,
  };
}

/** The fields of the configuration's `commlink` section that are connection options. */
export type CommlinkConfigSection = Readonly<Pick<CommlinkOptions, keyof typeof CONFIG_OPTION_FIELDS>>;

/** Picks the connection options out of the configuration's `commlink` section. */
export function optionsFromConfig(c: CommlinkConfigSection): Partial<CommlinkOptions> {
  return pickFields(c, Object.keys(CONFIG_OPTION_FIELDS) as (keyof typeof CONFIG_OPTION_FIELDS)[]);
}
