import { Errors } from '../errors.js';
import type { TobjLimits } from './limits.js';
import { parseElements } from './parser.js';
import { escapeText, NAME_PATTERN } from './text.js';
import { checkKey, decodeFields, encodeFields, type Value } from './values.js';

/**
 * A message: the top-level `tobj` element. `type` says what it is, `attrs` holds the other
 * attributes in order (id, stream ...), and the children are the fields of `body`.
 */
export interface Message {
  type: string;
  attrs: Record<string, string>;
  body: Record<string, Value>;
}

export function encodeMessage(message: Message): string {
  if (typeof message.type !== 'string' || message.type === '') throw Errors.TOBJ_TYPE('a message needs a type');
  const head = [`<tobj type="${escapeText(message.type)}"`];
  for (const [name, value] of Object.entries(message.attrs)) {
    if (name === 'type' || !NAME_PATTERN.test(name)) throw Errors.TOBJ_TYPE(`"${name}" cannot be a message attribute`);
    checkKey(name);
    head.push(` ${name}="${escapeText(String(value))}"`);
  }
  const parts: string[] = [];
  encodeFields(message.body, parts, new Set());
  return parts.length === 0 ? `${head.join('')}/>` : `${head.join('')}>${parts.join('')}</tobj>`;
}

/** Decodes a payload of one or more messages. */
export function decodeMessages(payload: string | Uint8Array, limits: Partial<TobjLimits> = {}): Message[] {
  return parseElements(payload, limits).map((el) => {
    if (el.name !== 'tobj') throw Errors.TOBJ_TYPE(`top-level element <${el.name}> is not <tobj>`);
    if (el.text !== '') throw Errors.TOBJ_TYPE('a tobj element holds fields, not text');
    let type = '';
    const attrs: Record<string, string> = {};
    for (const name in el.attrs) {
      if (name === 'type') type = el.attrs[name] as string;
      else {
        checkKey(name); // refuses __proto__ and friends, which would not be own properties
        attrs[name] = el.attrs[name] as string;
      }
    }
    if (!type) throw Errors.TOBJ_TYPE('tobj element without a type');
    return { type, attrs, body: decodeFields(el.children) };
  });
}
