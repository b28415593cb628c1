import { Errors } from '../errors.js';
import type { Element } from './parser.js';
import { escapeText, NAME_PATTERN } from './text.js';

/** What a tobj can carry. Buffers decode as Buffer. */
export type Value = string | number | boolean | null | Uint8Array | Value[] | { [key: string]: Value };

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const MAX_NAME = 64;

/** Names already found valid: field names repeat on every message, the regex need not. */
const VALID_KEYS = new Set<string>();

export function checkKey(key: string): void {
  if (VALID_KEYS.has(key)) return;
  if (key.length > MAX_NAME || !NAME_PATTERN.test(key) || RESERVED_KEYS.has(key)) {
    throw Errors.TOBJ_TYPE(`"${key.slice(0, 80)}" cannot be a tobj field name`, { key: key.slice(0, 80) });
  }
  if (VALID_KEYS.size >= 4096) VALID_KEYS.clear();
  VALID_KEYS.add(key);
}

function isPlainObject(value: object): value is Record<string, Value> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Appends the element for `value` named `name` to `out`. `seen` detects cycles. */
export function encodeValue(name: string, value: Value, out: string[], seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      out.push(value === '' ? `<${name}/>` : `<${name}>${escapeText(value)}</${name}>`);
      return;
    case 'number':
      if (!Number.isFinite(value)) throw Errors.TOBJ_TYPE(`${name}: ${value} is not a finite number`, { key: name });
      out.push(`<${name} t="num">${Object.is(value, -0) ? '0' : String(value)}</${name}>`);
      return;
    case 'boolean':
      out.push(`<${name} t="bool">${value ? 'true' : 'false'}</${name}>`);
      return;
    case 'object': {
      if (value === null) {
        out.push(`<${name} t="null"/>`);
        return;
      }
      if (value instanceof Uint8Array) {
        out.push(
          value.length === 0
            ? `<${name} t="bin"/>`
            : `<${name} t="bin">${Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64')}</${name}>`,
        );
        return;
      }
      if (seen.has(value)) throw Errors.TOBJ_TYPE(`${name}: cyclic value`, { key: name });
      seen.add(value);
      if (Array.isArray(value)) {
        if (value.length === 0) out.push(`<${name} t="list"/>`);
        else {
          out.push(`<${name} t="list">`);
          for (let i = 0; i < value.length; i++) {
            const item = value[i];
            if (item === undefined) throw Errors.TOBJ_TYPE(`${name}[${i}] is undefined`, { key: name });
            encodeValue('i', item, out, seen);
          }
          out.push(`</${name}>`);
        }
      } else if (isPlainObject(value)) {
        const start = out.length;
        out.push(`<${name} t="obj">`);
        encodeFields(value, out, seen);
        if (out.length === start + 1) out[start] = `<${name} t="obj"/>`;
        else out.push(`</${name}>`);
      } else {
        throw Errors.TOBJ_TYPE(`${name}: ${(value as object).constructor?.name ?? 'object'} values cannot be encoded`, { key: name });
      }
      seen.delete(value);
      return;
    }
    default:
      throw Errors.TOBJ_TYPE(`${name}: ${typeof value} values cannot be encoded`, { key: name });
  }
}

/** Appends one element per defined field of `object`, in key order. */
export function encodeFields(object: Record<string, Value | undefined>, out: string[], seen: Set<object>): void {
  for (const key of Object.keys(object)) {
    const field = object[key];
    if (field === undefined) continue;
    checkKey(key);
    encodeValue(key, field, out, seen);
  }
}

function typeError(el: Element, message: string) {
  return Errors.TOBJ_TYPE(`${el.name}: ${message}`, { key: el.name });
}

export function decodeValue(el: Element): Value {
  if (el.attrCount === 0) {
    if (el.children.length) throw typeError(el, 'a string element cannot hold elements');
    return el.text;
  }
  const t = el.attrs.t;
  if (el.attrCount !== 1 || t === undefined) {
    const extra = Object.keys(el.attrs).find((a) => a !== 't');
    throw typeError(el, `unexpected attribute ${extra} on a value`);
  }
  if (t === 'list') {
    if (el.text !== '') throw typeError(el, 'a list holds only <i> elements');
    const items: Value[] = new Array(el.children.length);
    for (let i = 0; i < el.children.length; i++) {
      const child = el.children[i] as Element;
      if (child.name !== 'i') throw typeError(el, `list item named ${child.name}, not i`);
      items[i] = decodeValue(child);
    }
    return items;
  }
  if (t === 'obj') {
    if (el.text !== '') throw typeError(el, 'an object holds only field elements');
    return decodeFields(el.children);
  }
  if (el.children.length) throw typeError(el, `t="${t}" cannot hold elements`);
  return leafValue(el.name, t, el.text);
}

/** A value of a scalar type from its element's text; shared by both decoders. */
export function leafValue(name: string, t: string, text: string): Value {
  switch (t) {
    case 'num': {
      if (!JSON_NUMBER.test(text)) throw Errors.TOBJ_TYPE(`${name}: "${text.slice(0, 40)}" is not a number`, { key: name });
      const value = Number(text);
      // The grammar admits 1e999, which is no finite double: it would reach a handler as Infinity.
      if (!Number.isFinite(value)) throw Errors.TOBJ_TYPE(`${name}: "${text.slice(0, 40)}" is not a finite number`, { key: name });
      return value;
    }
    case 'bool':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw Errors.TOBJ_TYPE(`${name}: "${text.slice(0, 40)}" is not true or false`, { key: name });
    case 'null':
      if (text !== '') throw Errors.TOBJ_TYPE(`${name}: t="null" must be empty`, { key: name });
      return null;
    case 'bin': {
      const bytes = Buffer.from(text, 'base64');
      if (bytes.toString('base64') !== text) throw Errors.TOBJ_TYPE(`${name}: not canonical base64`, { key: name });
      return bytes;
    }
    default:
      throw Errors.TOBJ_TYPE(`${name}: unknown type t="${String(t).slice(0, 20)}"`, { key: name });
  }
}

export function decodeFields(children: readonly Element[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const child of children) {
    checkKey(child.name);
    if (Object.prototype.hasOwnProperty.call(out, child.name)) throw Errors.TOBJ_TYPE(`duplicate field ${child.name}`, { key: child.name });
    out[child.name] = decodeValue(child);
  }
  return out;
}
