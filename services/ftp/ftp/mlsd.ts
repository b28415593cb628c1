import type { Stats } from 'node:fs';
import { ftpTime } from './listing.js';

/**
 * Machine listings (RFC 3659): MLSD on the data connection, MLST on the control connection.
 * ftp-srv 4.6.3 has neither. The facts offered are type, size, modify and perm; the session may
 * narrow them with OPTS MLST. Permissions are what this read-only server allows: files `r`
 * (RETR), directories `el` (CWD, LIST).
 */
export const MLST_FACTS = ['type', 'size', 'modify', 'perm'] as const;
export type MlstFact = (typeof MLST_FACTS)[number];

/** The FEAT line: every fact offered, `*` marking those selected. */
export function mlstFeature(selected: ReadonlySet<MlstFact>): string {
  return `MLST ${MLST_FACTS.map((f) => `${f}${selected.has(f) ? '*' : ''};`).join('')}`;
}

/** OPTS MLST <facts>: the facts asked for that are offered (unknown ones are ignored, as the RFC says). */
export function selectFacts(arg: string): Set<MlstFact> {
  const asked = arg.split(';').map((f) => f.trim().toLowerCase());
  return new Set(MLST_FACTS.filter((f) => asked.includes(f)));
}

/**
 * `fact=value;…; name` (the space before the name is part of the format). `type` marks the
 * listed directory itself (`cdir`) and its parent (`pdir`) in an MLSD (RFC 3659 §7.5.1).
 */
export function factsLine(name: string, stats: Stats, selected: ReadonlySet<MlstFact>, type?: 'cdir' | 'pdir'): string {
  const dir = stats.isDirectory();
  const facts: string[] = [];
  if (selected.has('type')) facts.push(`type=${type ?? (dir ? 'dir' : 'file')}`);
  if (selected.has('size') && !dir) facts.push(`size=${stats.size}`);
  if (selected.has('modify')) facts.push(`modify=${ftpTime(stats.mtime)}`);
  if (selected.has('perm')) facts.push(`perm=${dir ? 'el' : 'r'}`);
  return `${facts.map((f) => `${f};`).join('')} ${name}`;
}
