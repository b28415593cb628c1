/**
 * The words of an SSH `exec` command line, split as a POSIX shell splits them, for the few commands
 * the file host answers itself (checksum-command.ts): nothing is ever handed to a shell. Quoting is
 * honoured (single quotes, double quotes, backslash escapes: rclone escapes every unsafe character
 * of a path with a backslash, others quote it), and anything a shell would interpret instead of
 * passing on literally (`;`, `|`, `&`, `$`, backquotes, redirections, globs, braces, `~`, `#`, an
 * unquoted newline) is refused, not guessed at.
 *
 * Hand-written rather than a package: the shell-word packages expand or tokenise operators and
 * variables, where this must refuse them.
 */

/** Characters with a meaning to a shell outside quotes: refused there. */
const UNQUOTED_SPECIAL = new Set([';', '&', '|', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '{', '}', '~', '#', '!', '\n', '\r']);
/** Inside double quotes, a shell still expands these: refused there. */
const DOUBLE_QUOTED_SPECIAL = new Set(['$', '`']);
/** Inside double quotes, a backslash escapes only these (otherwise it stays, as in a shell). */
const DOUBLE_QUOTED_ESCAPABLE = new Set(['$', '`', '"', '\\', '\n']);

/** Longest command line taken (a checksum command with a few paths is far shorter). */
export const MAX_COMMAND_LINE = 16 * 1024;
/** Most words taken. */
export const MAX_WORDS = 256;

export type SplitCommandLine = { words: string[] } | { refused: string };

/** The words of `line`, or why it is refused (shell syntax this does not interpret). */
export function splitCommandLine(line: string): SplitCommandLine {
  if (line.length > MAX_COMMAND_LINE) return { refused: 'command line too long' };
  const words: string[] = [];
  let word: string | undefined; // undefined: between words
  let i = 0;
  const take = (text: string) => (word = (word ?? '') + text);
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === '\\') {
      const next = line[i + 1];
      if (next === undefined) return { refused: 'a backslash at the end of the line' };
      if (next !== '\n') take(next); // backslash-newline: a line continuation, nothing
      i += 2;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { refused: 'an unterminated single quote' };
      take(line.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      take('');
      i++;
      for (;;) {
        const d = line[i];
        if (d === undefined) return { refused: 'an unterminated double quote' };
        i++;
        if (d === '"') break;
        if (DOUBLE_QUOTED_SPECIAL.has(d)) return { refused: `${describe(d)} (expansion is not done here)` };
        if (d === '\\' && line[i] !== undefined && DOUBLE_QUOTED_ESCAPABLE.has(line[i]!)) {
          if (line[i] !== '\n') take(line[i]!);
          i++;
        } else take(d);
      }
    } else if (UNQUOTED_SPECIAL.has(c)) {
      return { refused: `${describe(c)} (shell syntax is not interpreted here)` };
    } else {
      take(c);
      i++;
    }
    if (words.length >= MAX_WORDS) return { refused: 'too many words' };
  }
  if (word !== undefined) words.push(word);
  return { words };
}

function describe(c: string): string {
  if (c === '\n' || c === '\r') return 'a line break';
  return `'${c}'`;
}
