import type { Command, CommandTable } from './command.js';
import { ftpTime } from './listing.js';
import { factsLine } from './mlsd.js';
import { quotePath } from './replies.js';
import type { FtpSession } from './session.js';

/** The session's area (commands marked `auth` only run after login). */
function areaOf(s: FtpSession) {
  return s.area!;
}

async function changeDirectory(s: FtpSession, clientPath: string): Promise<void> {
  const area = areaOf(s);
  s.cwd = await area.directory(await area.resolveThroughDirectories(clientPath, s.cwd));
  return s.reply(250, `Directory changed to ${quotePath(s.cwd)}`);
}

const cwd: Command = { auth: true, run: (s, arg) => changeDirectory(s, arg) };
const cdup: Command = { auth: true, run: (s) => changeDirectory(s, '..') };
const pwd: Command = { auth: true, run: async (s) => s.reply(257, `${quotePath(s.cwd)} is the current directory`) };

/**
 * Navigation and facts about one file, answered on the control connection: CWD, CDUP, PWD, SIZE,
 * MDTM, MLST. Every path goes through the area's resolver (read-only-fs.ts).
 */
export const FILE_COMMANDS: CommandTable = {
  CWD: cwd,
  XCWD: cwd,
  CDUP: cdup,
  XCUP: cdup,
  PWD: pwd,
  XPWD: pwd,
  SIZE: {
    auth: true,
    async run(s, arg) {
      const area = areaOf(s);
      const stats = await area.fileStat(area.resolveFile(arg, s.cwd));
      return s.reply(213, String(stats.size));
    },
  },
  MDTM: {
    auth: true,
    async run(s, arg) {
      const area = areaOf(s);
      const stats = await area.fileStat(area.resolveFile(arg, s.cwd));
      return s.reply(213, ftpTime(stats.mtime));
    },
  },
  MLST: {
    auth: true,
    async run(s, arg) {
      const area = areaOf(s);
      const path = area.resolve(arg, s.cwd);
      const stats = await area.stat(path);
      return s.replyLines(250, `Listing ${path}`, [` ${factsLine(path, stats, s.mlstFacts)}`], 'End');
    },
  },
};
