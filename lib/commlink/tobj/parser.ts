import { isUtf8 } from 'node:buffer';
import { Errors } from '../errors.js';
import { DEFAULT_LIMITS, type TobjLimits } from './limits.js';

export interface Element {
  name: string;
  /** Null-prototype object: attribute names cannot reach Object.prototype. Shared and frozen
   *  (EMPTY_ATTRS) when the element has none, which is most of them. */
  attrs: Record<string, string>;
  attrCount: number;
  /** Empty when the element holds text. */
  children: Element[];
  /** Empty when the element holds children. */
  text: string;
}

export const EMPTY_ATTRS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const QUOT = 0x22;
const SLASH = 0x2f;
const SPACE = 0x20;
const EQ = 0x3d;

function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
}

/**
 * Strict single-pass parser of the tobj grammar (PROTOCOL.md §10). Recursion depth is bounded by
 * maxDepth, checked before descending, so hostile nesting cannot exhaust the stack.
 */
class Parser {
  readonly #s: string;
  readonly #limits: TobjLimits;
  #i = 0;
  #elements = 0;

  constructor(input: string, limits: TobjLimits) {
    this.#s = input;
    this.#limits = limits;
  }

  parsePayload(): Element[] {
    const out: Element[] = [];
    if (this.#s.length === 0) throw this.#syntax('empty payload');
    while (this.#i < this.#s.length) {
      if (this.#s.charCodeAt(this.#i) !== LT) throw this.#syntax('expected "<" at the start of an element');
      out.push(this.#element(1));
    }
    return out;
  }

  #element(depth: number): Element {
    if (depth > this.#limits.maxDepth) {
      throw Errors.TOBJ_LIMIT(`nesting deeper than ${this.#limits.maxDepth}`, { limit: 'maxDepth', value: depth, offset: this.#i });
    }
    if (++this.#elements > this.#limits.maxElements) {
      throw Errors.TOBJ_LIMIT(`more than ${this.#limits.maxElements} elements`, { limit: 'maxElements', value: this.#elements });
    }
    const s = this.#s;
    this.#i++; // '<'
    const name = this.#name();
    let attrs = EMPTY_ATTRS as Record<string, string>;
    let attrCount = 0;
    for (;;) {
      const c = s.charCodeAt(this.#i);
      if (c === SPACE) {
        this.#i++;
        const attr = this.#name();
        if (s.charCodeAt(this.#i) !== EQ || s.charCodeAt(this.#i + 1) !== QUOT) throw this.#syntax(`expected ="..." after attribute ${attr}`);
        this.#i += 2;
        const value = this.#text(true);
        this.#i++; // closing quote
        if (attrCount === 0) attrs = Object.create(null) as Record<string, string>;
        else if (attr in attrs) throw this.#syntax(`duplicate attribute ${attr}`);
        if (++attrCount > this.#limits.maxAttributes) {
          throw Errors.TOBJ_LIMIT(`more than ${this.#limits.maxAttributes} attributes`, { limit: 'maxAttributes', value: attrCount, offset: this.#i });
        }
        attrs[attr] = value;
      } else if (c === SLASH) {
        if (s.charCodeAt(this.#i + 1) !== GT) throw this.#syntax('expected "/>"');
        this.#i += 2;
        return { name, attrs, attrCount, children: [], text: '' };
      } else if (c === GT) {
        this.#i++;
        break;
      } else {
        throw this.#syntax(`unexpected ${Number.isNaN(c) ? 'end of input' : JSON.stringify(s[this.#i])} in start tag of ${name}`);
      }
    }
    const children: Element[] = [];
    let text = '';
    if (s.charCodeAt(this.#i) === LT && s.charCodeAt(this.#i + 1) !== SLASH) {
      while (s.charCodeAt(this.#i) === LT && s.charCodeAt(this.#i + 1) !== SLASH) children.push(this.#element(depth + 1));
    } else {
      text = this.#text(false);
    }
    if (s.charCodeAt(this.#i) !== LT || s.charCodeAt(this.#i + 1) !== SLASH) {
      throw this.#syntax(`expected </${name}> (text and elements cannot be mixed)`);
    }
    this.#i += 2;
    const end = this.#name();
    if (end !== name) throw this.#syntax(`end tag </${end}> does not match <${name}>`);
    if (s.charCodeAt(this.#i) !== GT) throw this.#syntax(`expected ">" to end </${name}`);
    this.#i++;
    return { name, attrs, attrCount, children, text };
  }

  #name(): string {
    const s = this.#s;
    const start = this.#i;
    if (!isNameStart(s.charCodeAt(start))) throw this.#syntax('expected a name');
    let i = start + 1;
    while (isNameChar(s.charCodeAt(i))) i++;
    if (i - start > this.#limits.maxNameLength) {
      throw Errors.TOBJ_LIMIT(`name longer than ${this.#limits.maxNameLength}`, { limit: 'maxNameLength', value: i - start, offset: start });
    }
    this.#i = i;
    return s.slice(start, i);
  }

  /** Reads text up to "<" (content) or '"' (attribute value), decoding escapes. */
  #text(inAttribute: boolean): string {
    const s = this.#s;
    const stop = inAttribute ? QUOT : LT;
    let out = '';
    let runStart = this.#i;
    let i = this.#i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === stop) break;
      if (Number.isNaN(c)) throw this.#syntaxAt(i, 'unexpected end of input');
      if (c < 0x20 || c === 0x7f) throw Errors.TOBJ_ENCODING(`raw control character U+${c.toString(16).padStart(4, '0').toUpperCase()}`, { offset: i });
      if (c === GT || c === LT || c === QUOT) throw this.#syntaxAt(i, `raw ${String.fromCharCode(c)} must be escaped`);
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = s.charCodeAt(i + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) throw Errors.TOBJ_ENCODING('lone surrogate', { offset: i });
        i += 2;
        continue;
      }
      if (c === AMP) {
        out += s.slice(runStart, i);
        const semi = s.indexOf(';', i);
        const entity = semi === -1 || semi - i > 10 ? '' : s.slice(i, semi + 1);
        out += this.#entity(entity, i);
        i = semi + 1;
        runStart = i;
        continue;
      }
      i++;
    }
    this.#i = i;
    return out + s.slice(runStart, i);
  }

  #entity(entity: string, at: number): string {
    switch (entity) {
      case '&lt;':
        return '<';
      case '&gt;':
        return '>';
      case '&amp;':
        return '&';
      case '&quot;':
        return '"';
    }
    const match = /^&#x([0-9A-Fa-f]{1,6});$/.exec(entity);
    if (!match) throw this.#syntaxAt(at, `unknown escape ${JSON.stringify(entity || this.#s.slice(at, at + 8))}`);
    const code = parseInt(match[1] as string, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw Errors.TOBJ_ENCODING(`escape ${entity} is not a Unicode scalar value`, { offset: at });
    return String.fromCodePoint(code);
  }

  #syntax(message: string) {
    return this.#syntaxAt(this.#i, message);
  }

  #syntaxAt(offset: number, message: string) {
    return Errors.TOBJ_SYNTAX(`${message} at offset ${offset}`, { offset });
  }
}

/** Parses one or more top-level elements. A Buffer must be valid UTF-8. */
export function parseElements(input: string | Uint8Array, limits: Partial<TobjLimits> = {}): Element[] {
  const l: TobjLimits = { ...DEFAULT_LIMITS, ...limits };
  let text: string;
  if (typeof input === 'string') {
    if (input.length > l.maxBytes) throw Errors.TOBJ_LIMIT(`payload longer than ${l.maxBytes} bytes`, { limit: 'maxBytes', value: input.length });
    text = input;
  } else {
    if (input.length > l.maxBytes) throw Errors.TOBJ_LIMIT(`payload longer than ${l.maxBytes} bytes`, { limit: 'maxBytes', value: input.length });
    if (!isUtf8(input)) throw Errors.TOBJ_ENCODING('payload is not valid UTF-8');
    text = Buffer.from(input.buffer, input.byteOffset, input.length).toString('utf8');
  }
  return new Parser(text, l).parsePayload();
}
