import { stat } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Environment } from '../lib/config/index.js';
import { isEntryPoint } from '../lib/service/entry-point.js';

/**
 * What a script's main() talks to. Defaults are the process's own; tests pass their own env, cwd
 * and output collectors, so a script can run in-process without touching the real environment.
 */
export interface ScriptIo {
  env?: Environment;
  cwd?: string;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export interface ResolvedIo {
  env: Environment;
  cwd: string;
  out(line: string): void;
  err(line: string): void;
}

export function resolveIo(io: ScriptIo = {}): ResolvedIo {
  const stdout = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = io.stderr ?? ((text: string) => void process.stderr.write(text));
  return {
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    out: (line) => stdout(`${line}\n`),
    err: (line) => stderr(`${line}\n`),
  };
}

/** Runs main() when the module is the entry point, and exits with its code. */
export function runIfEntryPoint(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  if (!isEntryPoint(moduleUrl)) return;
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/** Exactly one error message per line on stderr: the error's message (config and keybag errors are written for people). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * Parses a script's flags strictly (no positionals). On a bad flag it prints the reason and the
 * usage on stderr and returns undefined (the script exits 2); on --help it prints the usage and
 * returns 'help' (exit 0).
 */
export function parseFlags(
  script: string,
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  usage: string,
  io: ResolvedIo,
): FlagValues | 'help' | undefined {
  let values: FlagValues;
  try {
    values = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false })
      .values as FlagValues;
  } catch (e) {
    io.err(`${script}: ${errorText(e)}`);
    io.err(usage);
    return undefined;
  }
  if (values.help) {
    io.out(usage);
    return 'help';
  }
  return values;
}

/** True when `file` exists; other stat errors (permissions ...) are thrown, not hidden. */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Prints rows as aligned columns. */
export function table(rows: Record<string, unknown>[], columns: string[], io: ResolvedIo): void {
  if (rows.length === 0) {
    io.out('(none)');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '-' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  io.out(
    columns
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd(),
  );
  for (const row of cells)
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    );
}
