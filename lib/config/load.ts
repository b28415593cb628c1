import path from 'node:path';
import { ConfigError, type ConfigProblem } from './errors.js';
import { badValueMessage, formatRaw, readEnv, setIn, suggest, type Environment, type ValueSource } from './env.js';
import { configFields, type FieldInfo } from './fields.js';
import { configSchema, DATA_DIR_TOKEN, type Config, type ConfigOverrides } from './schema.js';

export interface LoadConfigOptions {
  /** Environment to read FFS_* variables from. Default: process.env. */
  env?: Environment;
  /** Values applied after the environment, nested like the config. Unknown keys are an error. */
  overrides?: ConfigOverrides;
  /** Directory relative paths are resolved against. Default: process.cwd(). */
  cwd?: string;
}

/**
 * Loads the configuration: schema defaults, then FFS_* environment variables, then `overrides`.
 * Every value is validated (a ConfigError names the field and where the bad value came from),
 * path fields are made absolute, and the result is deeply frozen.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const { env = process.env, overrides = {}, cwd = process.cwd() } = options;
  const fields = configFields();
  const { values, sources, problems } = readEnv(env, fields);
  applyOverrides(overrides as Record<string, unknown>, fields, values, sources, problems);
  if (problems.length) throw new ConfigError(problems);

  const parsed = configSchema.safeParse(values, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => issueProblem(issue, fields, sources)),
      parsed.error,
    );
  }
  const config = parsed.data as unknown as Record<string, unknown>;
  resolvePaths(config, fields, sources, path.resolve(cwd));
  return deepFreeze(config) as unknown as Config;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function applyOverrides(
  overrides: Record<string, unknown>,
  fields: readonly FieldInfo[],
  values: Record<string, unknown>,
  sources: Map<string, ValueSource>,
  problems: ConfigProblem[],
): void {
  const byPath = new Map(fields.map((f) => [f.path, f]));
  const sections = new Set(fields.flatMap((f) => f.segments.slice(0, -1).map((_, i) => f.segments.slice(0, i + 1).join('.'))));
  if (!isPlainObject(overrides)) {
    problems.push({ field: '', message: 'config: overrides must be a plain object' });
    return;
  }
  const visit = (node: Record<string, unknown>, prefix: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      if (value === undefined) continue;
      const segments = [...prefix, key];
      const dotted = segments.join('.');
      const field = byPath.get(dotted);
      if (field) {
        setIn(values, segments, Array.isArray(value) ? [...value] : value);
        sources.set(dotted, { raw: value, from: 'overrides' });
      } else if (sections.has(dotted)) {
        if (isPlainObject(value)) visit(value, segments);
        else
          problems.push({
            field: dotted,
            message: `config: ${dotted} is a section and must be an object (got ${JSON.stringify(value) ?? String(value)} from overrides)`,
          });
      } else {
        const hint = suggest(dotted, [...byPath.keys(), ...sections]);
        problems.push({ field: dotted, message: `config: ${dotted} matches no configuration field (from overrides)${hint ? `; did you mean ${hint}?` : ''}` });
      }
    }
  };
  visit(overrides, []);
}

interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly input?: unknown;
  readonly keys?: readonly string[];
}

/** Turns one zod issue into our message: the field, what it must be, and where the value came from. */
function issueProblem(issue: Issue, fields: readonly FieldInfo[], sources: Map<string, ValueSource>): ConfigProblem {
  const segments = issue.path.map(String);
  // The field is the longest prefix of the issue's path that is a field (a list element's issue
  // is reported on the list).
  let field: FieldInfo | undefined;
  for (let n = segments.length; n > 0 && !field; n--) {
    const dotted = segments.slice(0, n).join('.');
    field = fields.find((f) => f.path === dotted);
  }
  if (!field) {
    const at = segments.join('.');
    if (issue.code === 'unrecognized_keys' && issue.keys?.length) {
      const name = [at, issue.keys[0]].filter(Boolean).join('.');
      return { field: name, message: `config: ${name} matches no configuration field` };
    }
    return { field: at, message: `config: ${at || '(root)'} ${issue.message}` };
  }
  const source = sources.get(field.path) ?? { raw: issue.input, from: 'defaults' };
  if (issue.code === 'custom') {
    // A cross-field check: its message says what the value must be, relative to the other field.
    return { field: field.path, message: `config: ${field.path} ${issue.message} (got ${formatRaw(source.raw)} from ${source.from})` };
  }
  return { field: field.path, message: badValueMessage(field, source) };
}

function getIn(node: Record<string, unknown>, segments: readonly string[]): unknown {
  let value: unknown = node;
  for (const key of segments) value = (value as Record<string, unknown>)[key];
  return value;
}

/** dataDir becomes absolute (against cwd); other paths too, with a leading `<dataDir>` meaning dataDir. */
function resolvePaths(config: Record<string, unknown>, fields: readonly FieldInfo[], sources: Map<string, ValueSource>, cwd: string): void {
  const rawDataDir = config.dataDir as string;
  if (rawDataDir.includes(DATA_DIR_TOKEN)) {
    const source = sources.get('dataDir');
    throw new ConfigError({
      field: 'dataDir',
      message: `config: dataDir cannot refer to ${DATA_DIR_TOKEN} (got ${JSON.stringify(rawDataDir)}${source ? ` from ${source.from}` : ''})`,
    });
  }
  const dataDir = path.resolve(cwd, rawDataDir);
  for (const field of fields) {
    if (!field.isPath) continue;
    const value = getIn(config, field.segments) as string;
    if (value === '') continue; // an optional path left empty: its feature is off
    let resolved: string;
    if (field.path === 'dataDir') resolved = dataDir;
    else if (value === DATA_DIR_TOKEN) resolved = dataDir;
    else if (value.startsWith(`${DATA_DIR_TOKEN}/`) || value.startsWith(`${DATA_DIR_TOKEN}${path.sep}`)) {
      resolved = path.join(dataDir, value.slice(DATA_DIR_TOKEN.length + 1));
    } else resolved = path.resolve(cwd, value);
    setIn(config, field.segments, resolved);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
