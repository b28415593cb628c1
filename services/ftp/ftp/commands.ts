import { AUTH_COMMANDS } from './auth-commands.js';
import type { Command, CommandTable } from './command.js';
import { FILE_COMMANDS } from './file-commands.js';
import { HASH_COMMANDS, optsHash } from './hash-commands.js';
import { FTP_HASHES, hashFeature } from './hash-names.js';
import { listingLines, NO_MATCH } from './list-lines.js';
import { mlstFeature, selectFacts } from './mlsd.js';
import { INTERNAL_ERROR, oneLine, replyOf } from './replies.js';
import type { FtpSession } from './session.js';
import { TRANSFER_COMMANDS } from './transfer-commands.js';
import { WRITE_COMMANDS } from './write-commands.js';

/**
 * Stateless commands ftp-srv answers well by itself (through its own registry, which checks the
 * login). Nothing else reaches ftp-srv's commands: those that touch files or sockets are ours, so
 * no path a client sends ever meets ftp-srv's resolver or `fs`.
 */
const DELEGATED = new Set(['NOOP', 'SYST', 'TYPE', 'MODE', 'STRU', 'ALLO']);

function features(s: FtpSession): string[] {
  const tls = s.secureContext ? [' AUTH TLS', ' PBSZ', ' PROT'] : [];
  const hashes = s.options.checksums ? [` ${hashFeature(s.hash)}`, ...FTP_HASHES.map((h) => ` ${h.command}`)] : [];
  return [...tls, ' EPSV', ...hashes, ' MDTM', ` ${mlstFeature(s.mlstFacts)}`, ' REST STREAM', ' SIZE', ' TVFS', ' UTF8'];
}

const SESSION_COMMANDS: CommandTable = {
  FEAT: { auth: false, run: (s) => s.replyLines(211, 'Features:', features(s), 'End') },
  OPTS: {
    auth: false,
    async run(s, arg) {
      const [option = '', ...rest] = arg.trim().split(/\s+/);
      switch (option.toUpperCase()) {
        case 'UTF8':
        case 'UTF-8':
          return s.reply(200, 'Always in UTF8 mode');
        case 'MLST':
          s.mlstFacts = selectFacts(rest.join(' '));
          return s.reply(200, `MLST OPTS ${[...s.mlstFacts].map((f) => `${f};`).join('')}`);
        case 'HASH':
          return optsHash(s, rest.join(' '));
        default:
          return s.reply(501, `Option not understood: ${oneLine(option, 32)}`);
      }
    },
  },
  HELP: {
    auth: false,
    run: (s) =>
      s.replyLines(
        214,
        'The following commands are recognized:',
        [
          ` ${Object.keys(TABLE)
            .concat([...DELEGATED])
            .sort()
            .join(' ')}`,
        ],
        'Help OK',
      ),
  },
  STAT: {
    auth: false,
    async run(s, arg) {
      if (arg.trim() !== '') return statPath(s, arg);
      const who = s.login ? ` Logged in as ${s.login.customer}` : ' Not logged in';
      return s.replyLines(
        211,
        'FTP server status:',
        [
          ` Connected from ${s.clientAddress}`,
          who,
          ` TLS: ${s.secure ? 'yes' : 'no'}, data protection: ${s.protectData ? 'private' : 'clear'}`,
          ' Read-only access',
        ],
        'End of status',
      );
    },
  },
  QUIT: {
    auth: false,
    async run(s) {
      await s.reply(221, 'Goodbye');
      return s.close();
    },
  },
};

/**
 * STAT <path> (RFC 959): the LIST of the path on the control connection, between `213-Status of
 * <path>:` and `213 End of status` (each line indented by a space, so none reads as a reply code).
 */
async function statPath(s: FtpSession, arg: string): Promise<void> {
  if (!s.login) return s.reply(530, 'Please log in with USER and PASS first');
  const lines = await listingLines(s, arg, 'list');
  if (!lines) return s.reply(450, NO_MATCH);
  return s.replyLines(
    213,
    `Status of ${arg.trim()}:`,
    lines.map((l) => ` ${l}`),
    'End of status',
  );
}

const TABLE: CommandTable = Object.freeze({
  ...AUTH_COMMANDS,
  ...FILE_COMMANDS,
  ...TRANSFER_COMMANDS,
  ...HASH_COMMANDS,
  ...WRITE_COMMANDS,
  ...SESSION_COMMANDS,
});

/** Directive and argument: the directive up to the first space, the argument everything after it. */
function parse(line: string): { directive: string; arg: string } {
  const space = line.indexOf(' ');
  const directive = (space === -1 ? line : line.slice(0, space)).trim().toUpperCase();
  return { directive, arg: space === -1 ? '' : line.slice(space + 1) };
}

/**
 * Runs one command line and never rejects: domain errors become their replies (replies.ts),
 * unknown errors are logged whole and answered 451.
 */
export async function dispatch(s: FtpSession, line: string): Promise<void> {
  const { directive, arg } = parse(line);
  const command: Command | undefined = Object.hasOwn(TABLE, directive) ? TABLE[directive] : undefined;
  try {
    if (command) {
      if (command.auth && !s.login) return await s.reply(530, 'Please log in with USER and PASS first');
      return await command.run(s, arg, directive);
    }
    if (DELEGATED.has(directive)) {
      await s.connection.commands.handle(line);
      return;
    }
    return await s.reply(502, `${oneLine(directive, 32)}: command not supported by this server`);
  } catch (err) {
    const reply = replyOf(err);
    if (!reply || reply.internal) s.log.error('ftp command failed', { err, directive: oneLine(directive, 32) });
    const { code, message, close } = reply ?? INTERNAL_ERROR;
    if (close) return s.close(code, message);
    return s.reply(code, message);
  }
}
