import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import type { Command, CommandTable } from './command.js';
import { oneLine } from './replies.js';

/**
 * Commands that would change the area, refused: customer areas are read-only (ERR_READ_ONLY → 550;
 * the store commands 553, "file name not allowed"). Nothing is resolved, opened or created, and a
 * data connection the client prepared is closed, so a refused upload holds no passive port
 * (ftp-srv leaves it listening: QuorumDMS/ftp-srv#257).
 */
function refused(what: string): Command {
  return {
    auth: true,
    async run(s, _arg, directive) {
      s.dropData();
      throw FileHostErrors.READ_ONLY(`${what} is refused: this area is read-only`, { command: directive });
    },
  };
}

const rmd = refused('Removing a directory');
const mkd = refused('Creating a directory');

export const WRITE_COMMANDS: CommandTable = {
  STOR: refused('Upload'),
  APPE: refused('Upload'),
  STOU: refused('Upload'),
  DELE: refused('Deleting'),
  RMD: rmd,
  XRMD: rmd,
  MKD: mkd,
  XMKD: mkd,
  RNFR: refused('Renaming'),
  RNTO: refused('Renaming'),
  SITE: {
    auth: true,
    async run(s, arg) {
      const sub = arg.trim().split(/\s+/)[0]!.toUpperCase();
      if (sub === '') return s.reply(501, 'SITE needs a command');
      if (sub === 'CHMOD' || sub === 'UTIME' || sub === 'SYMLINK')
        throw FileHostErrors.READ_ONLY(`SITE ${sub} is refused: this area is read-only`, { command: `SITE ${sub}` });
      return s.reply(502, `SITE ${oneLine(sub, 32)} is not supported by this server`);
    },
  },
};
