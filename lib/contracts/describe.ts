import { z } from 'zod';
import type { Operation } from './operation.js';

/**
 * Operations described for people: a Markdown section per operation with a table of its request
 * fields and one of its reply fields, both read from the contract's schemas (so the documents
 * generated from them, OPERATIONS.md, cannot drift from what the services check).
 */

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  description?: string;
}

interface Row {
  field: string;
  type: string;
  required: boolean;
  note: string;
}

/** The JSON Schema of a zod schema: what a sender must write (`input`) or what a reader gets (`output`). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

const SAFE_LIMIT = Number.MAX_SAFE_INTEGER;

function range(min: number | undefined, max: number | undefined, unit: string): string {
  const lo = min !== undefined && Math.abs(min) < SAFE_LIMIT ? min : undefined;
  const hi = max !== undefined && Math.abs(max) < SAFE_LIMIT ? max : undefined;
  if (lo !== undefined && hi !== undefined) return lo === hi ? ` of ${lo}${unit}` : ` of ${lo}-${hi}${unit}`;
  if (lo !== undefined) return ` of at least ${lo}${unit}`;
  if (hi !== undefined) return ` of at most ${hi}${unit}`;
  return '';
}

function typeText(s: JsonSchema): string {
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return alternatives.map(typeText).join(' or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' or ');
  switch (s.type) {
    case 'string':
      if (s.format === 'date-time') return 'date-time (ISO 8601, with Z or an offset)';
      if (s.format) return `string (${s.format})`;
      if (s.minLength === 1 && s.maxLength === undefined && !s.pattern) return 'non-empty string';
      return `string${range(s.minLength, s.maxLength, ' chars')}${s.pattern ? ` matching \`${s.pattern}\`` : ''}`;
    case 'integer':
    case 'number': {
      const lo = s.minimum !== undefined && Math.abs(s.minimum) < SAFE_LIMIT ? s.minimum : undefined;
      const hi = s.maximum !== undefined && Math.abs(s.maximum) < SAFE_LIMIT ? s.maximum : undefined;
      const bounds = lo !== undefined && hi !== undefined ? ` ${lo}..${hi}` : lo !== undefined ? ` ≥ ${lo}` : hi !== undefined ? ` ≤ ${hi}` : '';
      return `${s.type}${bounds}`;
    }
    case 'array':
      return `list${range(s.minItems, s.maxItems, ' items')} of ${s.items ? typeText(s.items) : 'values'}`;
    case 'object':
      return 'object';
    case 'null':
      return 'null';
    default:
      return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  }
}

/** The object schema inside `s` (itself, a list's items, or one of its alternatives), whose fields get rows of their own. */
function nestedObject(s: JsonSchema): { schema: JsonSchema; suffix: string } | undefined {
  if (s.type === 'object' && s.properties && Object.keys(s.properties).length > 0) return { schema: s, suffix: '' };
  if (s.type === 'array' && s.items) {
    const inner = nestedObject(s.items);
    return inner ? { schema: inner.schema, suffix: `[]${inner.suffix}` } : undefined;
  }
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) {
    const objects = alternatives.map(nestedObject).filter((o) => o !== undefined);
    return objects.length === 1 ? objects[0] : undefined;
  }
  return undefined;
}

function rowsOf(s: JsonSchema, prefix: string, rows: Row[]): Row[] {
  const required = new Set(s.required ?? []);
  for (const [name, field] of Object.entries(s.properties ?? {})) {
    const path = `${prefix}${name}`;
    const notes: string[] = [];
    if (field.description) notes.push(field.description);
    if (field.default !== undefined) notes.push(`default ${JSON.stringify(field.default)}`);
    rows.push({ field: path, type: typeText(field), required: required.has(name), note: notes.join('; ') });
    const nested = nestedObject(field);
    if (nested) rowsOf(nested.schema, `${path}${nested.suffix}.`, rows);
  }
  return rows;
}

/** Text for a Markdown table cell. */
export const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A Markdown table of a schema's fields: what a sender writes (`input`) or what a reader gets (`output`). */
export function fieldTable(schema: z.ZodType, io: 'input' | 'output'): string {
  const rows = rowsOf(jsonSchemaOf(schema, io) as JsonSchema, '', []);
  if (rows.length === 0) return '(no fields)';
  const lines = rows.map((r) => `| \`${cell(r.field)}\` | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(r.note)} |`);
  return ['| field | type | required | notes |', '|---|---|---|---|', ...lines].join('\n');
}

/** A Markdown table of the operations, then a section per operation with its request and reply fields. */
export function describeOperations(operations: readonly Operation[]): string {
  const index = operations.map((o) => `| [\`${o.name}\`](#${anchor(o.name)}) | ${cell(o.summary)} |`).join('\n');
  const sections = operations.map((o) => {
    const stream = o.stream ? ' The request carries a bulk stream (PROTOCOL.md §12).' : '';
    return `### ${o.name}\n\n${o.summary}${stream}\n\nRequest:\n\n${fieldTable(o.request, 'input')}\n\nReply:\n\n${fieldTable(o.reply, 'output')}`;
  });
  return `| operation | what it does |\n|---|---|\n${index}\n\n${sections.join('\n\n')}`;
}

/** The anchor GitHub gives a `### name` heading. */
function anchor(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9 -]/g, '');
}
