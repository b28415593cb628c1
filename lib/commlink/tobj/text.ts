/**
 * Escaping of text and attribute values. The encoder escapes & < > " as named entities and every
 * C0 control and DEL as an uppercase hex character reference; everything else is written raw.
 */
const NEEDS_ESCAPE = /[&<>"\u0000-\u001f\u007f]/;
const ESCAPE_ALL = /[&<>"\u0000-\u001f\u007f]/g;
const NAMED: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

function escapeChar(ch: string): string {
  return NAMED[ch] ?? `&#x${ch.charCodeAt(0).toString(16).toUpperCase()};`;
}

export function escapeText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPE_ALL, escapeChar) : text;
}

/** Element, attribute and object-key names: ASCII letter or _, then letters, digits, _ - . */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
