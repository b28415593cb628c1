export { encodeMessage, decodeMessages, type Message } from './messages.js';
export { parseElements, type Element } from './parser.js';
export { encodeValue, decodeValue, encodeFields, decodeFields, type Value } from './values.js';
export { escapeText } from './text.js';
export { DEFAULT_LIMITS, type TobjLimits } from './limits.js';
