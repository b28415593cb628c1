import type { ConfigProblem } from './errors.js';
import { configFields, type FieldInfo, type ValueType } from './fields.js';
import { ENV_PREFIX } from './env-name.js';

/**
 * Environment overrides. Every field has one variable (see env-name.ts for the naming rule); its
 * string value is converted by the field's type, strictly: "12abc" is not an integer. A variable
 * that starts with FFS_ but names no field is an error, so a typo cannot pass silently.
 */

export type Environment = Readonly<Record<string, string | undefined>>;

/** Where a field's value came from, for error messages. */
export interface ValueSource {
  readonly raw: unknown;
  /** 'FFS_COMMLINK__KEY_COUNT' or 'overrides'. */
  readonly from: string;
}

export interface EnvReading {
  /** Nested object of the converted values (only the fields that were set). */
  readonly values: Record<string, unknown>;
  /** Dotted field path → where its value came from. */
  readonly sources: Map<string, ValueSource>;
  readonly problems: ConfigProblem[];
}

type Converted = { ok: true; value: unknown } | { ok: false };

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function convertScalar(raw: string, type: Exclude<ValueType, { type: 'list' }>): Converted {
  switch (type.type) {
    case 'string':
      return { ok: true, value: raw };
    case 'integer':
      return INTEGER.test(raw) ? { ok: true, value: Number(raw) } : { ok: false };
    case 'number':
      return NUMBER.test(raw) ? { ok: true, value: Number(raw) } : { ok: false };
    case 'boolean':
      if (raw === 'true' || raw === '1') return { ok: true, value: true };
      if (raw === 'false' || raw === '0') return { ok: true, value: false };
      return { ok: false };
    case 'enum': {
      // Enum values may be numbers (rsa.bits): match on the text form, return the real value.
      const match = type.values.find((v) => String(v) === raw);
      return match === undefined ? { ok: false } : { ok: true, value: match };
    }
  }
}

/** Converts one environment string by the field's type. */
export function convertEnvValue(raw: string, type: ValueType): Converted {
  if (type.type !== 'list') return convertScalar(raw, type);
  const items = raw.trim() === '' ? [] : raw.split(',').map((s) => s.trim());
  const values: unknown[] = [];
  for (const item of items) {
    const converted = convertScalar(item, type.of);
    if (!converted.ok) return converted;
    values.push(converted.value);
  }
  return { ok: true, value: values };
}

export function setIn(target: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node = target;
  for (const key of segments.slice(0, -1)) {
    const next = node[key];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) node = next as Record<string, unknown>;
    else node = node[key] = {};
  }
  node[segments[segments.length - 1]!] = value;
}

/** The standard "bad value" sentence, shared with load.ts so every source reads the same. */
export function badValueMessage(field: FieldInfo, source: ValueSource): string {
  return `config: ${field.path} must be ${field.expectation} (got ${formatRaw(source.raw)} from ${source.from})`;
}

export function formatRaw(raw: unknown): string {
  return JSON.stringify(raw) ?? String(raw);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest known name, when it is close enough to be a likely typo. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 5)) ? best : undefined;
}

/** Reads every FFS_ variable of `env`: converted values, their sources, and the problems found. */
export function readEnv(env: Environment, fields: readonly FieldInfo[] = configFields()): EnvReading {
  const byEnv = new Map(fields.map((f) => [f.env, f]));
  const values: Record<string, unknown> = {};
  const sources = new Map<string, ValueSource>();
  const problems: ConfigProblem[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX)) continue;
    const raw = env[name];
    if (raw === undefined) continue;
    const field = byEnv.get(name);
    if (!field) {
      const hint = suggest(name, [...byEnv.keys()]);
      problems.push({
        field: name,
        message: `config: environment variable ${name} matches no configuration field${hint ? ` (did you mean ${hint}?)` : ''}`,
      });
      continue;
    }
    const source: ValueSource = { raw, from: name };
    const converted = convertEnvValue(raw, field.valueType);
    if (!converted.ok) {
      problems.push({ field: field.path, message: badValueMessage(field, source) });
      continue;
    }
    setIn(values, field.segments, converted.value);
    sources.set(field.path, source);
  }
  return { values, sources, problems };
}
