import { z } from 'zod';
import { configSchema, fieldKinds } from './schema.js';
import { envName } from './env-name.js';

/**
 * Introspection of the schema: the flat list of its fields, found by walking it. The environment
 * names, the error messages' "must be ..." text and CONFIG.md all come from here.
 */

/** How a field's value is read from an environment string. */
export type ValueType =
  | { type: 'string' }
  | { type: 'integer' }
  | { type: 'number' }
  | { type: 'boolean' }
  | { type: 'enum'; values: readonly (string | number)[] }
  | { type: 'list'; of: Exclude<ValueType, { type: 'list' }> };

export interface FieldInfo {
  /** Keys from the root: ['commlink', 'keyCount']. */
  readonly segments: readonly string[];
  /** Dotted path: 'commlink.keyCount'. */
  readonly path: string;
  /** Environment variable: 'FFS_COMMLINK__KEY_COUNT'. */
  readonly env: string;
  readonly default: unknown;
  readonly description: string;
  /** True for filesystem paths (made absolute at load). */
  readonly isPath: boolean;
  readonly valueType: ValueType;
  /** What a valid value is, as the end of "must be ...": 'an integer >= 1 and <= 65536'. */
  readonly expectation: string;
}

/** One entry of describeConfig(): what the docs show. */
export interface FieldDescription {
  readonly path: string;
  readonly env: string;
  readonly default: unknown;
  readonly description: string;
  /** The valid values, e.g. 'an integer >= 1 and <= 65536'. */
  readonly type: string;
}

type AnySchema = z.core.$ZodType;

/** Strips default/prefault/optional wrappers, returning the inner schema. */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional) {
    s = s.def.innerType;
  }
  return s;
}

function checkOf(schema: AnySchema, name: string): Record<string, unknown> | undefined {
  const checks = (schema._zod.def as { checks?: z.core.$ZodCheck[] }).checks ?? [];
  const check = checks.find((c) => (c._zod.def as { check: string }).check === name);
  return check?._zod.def as Record<string, unknown> | undefined;
}

function scalarType(schema: AnySchema, where: string): { valueType: Exclude<ValueType, { type: 'list' }>; expectation: string } {
  if (schema instanceof z.ZodNumber) {
    const integer = schema.isInt;
    const min = schema.minValue;
    const max = schema.maxValue;
    const bounds = [
      min !== null && Number.isFinite(min) && min > Number.MIN_SAFE_INTEGER ? `>= ${min}` : undefined,
      max !== null && Number.isFinite(max) && max < Number.MAX_SAFE_INTEGER ? `<= ${max}` : undefined,
    ].filter((b) => b !== undefined);
    const noun = integer ? 'an integer' : 'a number';
    return {
      valueType: { type: integer ? 'integer' : 'number' },
      expectation: bounds.length ? `${noun} ${bounds.join(' and ')}` : noun,
    };
  }
  if (schema instanceof z.ZodString) {
    const min = schema.minLength ?? 0;
    return { valueType: { type: 'string' }, expectation: min > 0 ? 'a non-empty string' : 'a string' };
  }
  if (schema instanceof z.ZodBoolean) return { valueType: { type: 'boolean' }, expectation: 'true or false' };
  if (schema instanceof z.ZodEnum) {
    const values = schema.options as (string | number)[];
    return { valueType: { type: 'enum', values }, expectation: `one of ${values.join(', ')}` };
  }
  if (schema instanceof z.ZodLiteral) {
    const values = [...schema.values] as (string | number)[];
    if (values.some((v) => typeof v !== 'string' && typeof v !== 'number'))
      throw new TypeError(`config schema: ${where}: only string and number literals are supported`);
    return { valueType: { type: 'enum', values }, expectation: values.length === 1 ? `${String(values[0])}` : `one of ${values.join(', ')}` };
  }
  throw new TypeError(`config schema: ${where}: unsupported field type ${schema._zod.def.type}`);
}

function leaf(schema: AnySchema, where: string): { valueType: ValueType; expectation: string } {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodArray) {
    const element = scalarType(unwrap(inner.element as AnySchema), where);
    const min = (checkOf(inner, 'min_length')?.minimum as number | undefined) ?? 0;
    const values = element.valueType.type === 'enum' ? element.valueType.values.join(', ') : undefined;
    const expectation = values
      ? `a ${min > 0 ? 'non-empty ' : ''}comma-separated list of ${values}`
      : `a ${min > 0 ? 'non-empty ' : ''}comma-separated list of ${element.expectation.replace(/^an? /, '')}s`;
    return { valueType: { type: 'list', of: element.valueType }, expectation };
  }
  return scalarType(inner, where);
}

function defaultOf(schema: AnySchema, where: string): unknown {
  if (!(schema instanceof z.ZodDefault)) throw new TypeError(`config schema: ${where} has no default`);
  return schema.def.defaultValue;
}

function walk(schema: AnySchema, segments: string[], out: FieldInfo[]): void {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(inner.shape as Record<string, AnySchema>)) walk(child, [...segments, key], out);
    return;
  }
  const path = segments.join('.');
  const { valueType, expectation: leafExpectation } = leaf(schema, path);
  const isPath = fieldKinds.get(schema)?.kind === 'path';
  const expectation = isPath ? (z.safeParse(schema as z.ZodType, '').success ? 'a path, or empty' : 'a non-empty path') : leafExpectation;
  const description = z.globalRegistry.get(schema)?.description;
  if (!description) throw new TypeError(`config schema: ${path} has no description`);
  out.push(
    Object.freeze({
      segments: Object.freeze([...segments]),
      path,
      env: envName(segments),
      default: defaultOf(schema, path),
      description,
      isPath,
      valueType,
      expectation,
    }),
  );
}

let cache: readonly FieldInfo[] | undefined;

/** Every field of the schema, in schema order. */
export function configFields(): readonly FieldInfo[] {
  if (!cache) {
    const out: FieldInfo[] = [];
    walk(configSchema, [], out);
    cache = Object.freeze(out);
  }
  return cache;
}

/** The fields as the docs show them: path, environment variable, default and meaning. */
export function describeConfig(): FieldDescription[] {
  return configFields().map((f) => ({ path: f.path, env: f.env, default: f.default, description: f.description, type: f.expectation }));
}
