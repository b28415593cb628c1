/**
 * Globs in NLST, LIST and STAT paths (`mget *.txt`, `NLST *.tar.gz`, `LIST acme-db/*\/`): `*` any
 * run of characters, `?` one character, `[abc]`, `[a-z]`, `[!a]` or `[^a]` one of (or none of) a
 * set. A `[` without its `]` is itself. A name that starts with `.` matches only a pattern that
 * does, as in a shell. Hand-written: no regular expression is built from a client's text, and the
 * match is O(name × pattern) at worst (it backtracks to the last `*` only), so no pattern can
 * make it slow.
 */

type Token = { kind: 'star' } | { kind: 'any' } | { kind: 'char'; char: string } | { kind: 'set'; negate: boolean; ranges: [string, string][] };

/** True when a path has a glob character (`*`, `?` or `[`). */
export function hasGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

function tokens(pattern: string): Token[] {
  const chars = Array.from(pattern);
  const out: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') {
      if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' }); // `**` is `*`
    } else if (c === '?') out.push({ kind: 'any' });
    else if (c === '[') {
      const set = parseSet(chars, i + 1);
      if (set) {
        out.push(set.token);
        i = set.end;
      } else out.push({ kind: 'char', char: c });
    } else out.push({ kind: 'char', char: c });
  }
  return out;
}

/** A `[...]` set from just after its `[`: the token and the index of its `]`, or undefined when it has none. */
function parseSet(chars: string[], start: number): { token: Token; end: number } | undefined {
  let i = start;
  const negate = chars[i] === '!' || chars[i] === '^';
  if (negate) i++;
  const ranges: [string, string][] = [];
  for (let first = true; i < chars.length; first = false) {
    const c = chars[i]!;
    if (c === ']' && !first) return { token: { kind: 'set', negate, ranges }, end: i };
    if (chars[i + 1] === '-' && i + 2 < chars.length && chars[i + 2] !== ']') {
      ranges.push([c, chars[i + 2]!]);
      i += 3;
    } else {
      ranges.push([c, c]);
      i++;
    }
  }
  return undefined;
}

function matchOne(token: Token, c: string): boolean {
  switch (token.kind) {
    case 'any':
      return true;
    case 'char':
      return token.char === c;
    case 'set': {
      const cp = c.codePointAt(0)!;
      const inSet = token.ranges.some(([from, to]) => cp >= from.codePointAt(0)! && cp <= to.codePointAt(0)!);
      return inSet !== token.negate;
    }
    default:
      return false;
  }
}

/** Compiles a pattern once; the matcher tests one name (one path component) at a time. */
export function globMatcher(pattern: string): (name: string) => boolean {
  const pat = tokens(pattern);
  const dotted = pattern.startsWith('.');
  return (name) => {
    if (name.startsWith('.') && !dotted) return false;
    const chars = Array.from(name);
    // Invariant: pat[0..p) matched chars[0..n); star/starN: the last `*` seen and where its run ends.
    let p = 0;
    let n = 0;
    let star = -1;
    let starN = 0;
    while (n < chars.length) {
      const token = pat[p];
      if (token && token.kind === 'star') {
        star = p++;
        starN = n;
      } else if (token && matchOne(token, chars[n]!)) {
        p++;
        n++;
      } else if (star >= 0) {
        p = star + 1;
        n = ++starN;
      } else return false;
    }
    while (pat[p]?.kind === 'star') p++;
    return p === pat.length;
  };
}
