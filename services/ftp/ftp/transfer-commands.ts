import type { Socket } from 'node:net';
import { sendFileRange, type SendError } from '../common/send-file.js';
import { isStalled, StallWatch, stalledError } from '../common/stall-watch.js';
import type { Command, CommandTable } from './command.js';
import type { DataConnection } from './data-connection.js';
import { listingBody } from './listing.js';
import { listingLines, mlsdLines, NO_MATCH } from './list-lines.js';
import type { OpenedFile } from '../common/path-resolver.js';
import { ReadOnlyArea } from './read-only-fs.js';
import { TRANSFER_REPLIES, type FtpSession } from './session.js';

const NO_DATA = 'Use PASV or EPSV first';
const ACTIVE_REFUSED = 'Active mode (PORT/EPRT) is not supported: the server does not connect out to client-chosen addresses; use PASV or EPSV';

/** Data connections must be TLS when the server requires TLS: 521 otherwise (RFC 4217 §9). */
function dataRefused(s: FtpSession): boolean {
  return s.options.requireTls && !s.protectData;
}

async function passive(s: FtpSession, extended: boolean): Promise<void> {
  if (dataRefused(s)) return s.reply(521, 'Data connections must be protected: send PBSZ 0 and PROT P first');
  if (!extended && s.epsvAll) return s.reply(503, 'EPSV ALL is in effect: use EPSV');
  const address = extended ? '' : s.passiveAddress();
  if (address === undefined) return s.reply(425, 'PASV needs an IPv4 address: use EPSV');
  const data = await s.openData();
  if (!data) return s.reply(425, 'No passive port is free now: try again later');
  if (extended) return s.reply(229, `Entering Extended Passive Mode (|||${data.port}|)`);
  return s.reply(227, `Entering Passive Mode (${address.split('.').join(',')},${data.port >> 8},${data.port & 255})`);
}

/** Resolves once the socket has taken `text` (its write callback); rejects if it errs or closes first. */
function writeAll(socket: Socket, text: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = () => reject(new Error('the connection closed during the transfer'));
    socket.once('close', onClose);
    socket.write(text, (err) => {
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * Sends a listing body; replies 150 first and 226 or 426 after. Ends as RETR does: the body is
 * written, and once the socket has taken it, the transfer ends the connection (DataConnection.end:
 * with TLS, a close_notify after the session tickets).
 */
async function sendListing(s: FtpSession, data: DataConnection, body: string): Promise<void> {
  await s.reply(150, 'Here comes the directory listing');
  const result = await s.transfer(data, async (socket) => {
    if (body === '') return;
    // One write: it progresses when the socket has taken all of it (a listing is small).
    const watch = new StallWatch(s.options.transferIdleMs, () => socket.destroy(stalledError(s.options.transferIdleMs)));
    try {
      await writeAll(socket, body);
    } finally {
      watch.stop();
    }
  });
  const [code, text] = TRANSFER_REPLIES[result];
  return s.reply(code, result === 'complete' ? 'Directory send OK' : text);
}

/** LIST, NLST and MLSD: the lines are made (or the path refused) before the data connection is used. */
function listing(make: (s: FtpSession, arg: string) => Promise<string[] | undefined>): Command {
  return {
    auth: true,
    async run(s, arg) {
      const data = s.takeData();
      let lines: string[] | undefined;
      try {
        lines = await make(s, arg);
      } catch (err) {
        data?.close();
        throw err;
      }
      if (!lines) {
        data?.close();
        return s.reply(450, NO_MATCH);
      }
      if (!data) return s.reply(425, NO_DATA);
      return sendListing(s, data, listingBody(lines));
    },
  };
}

/**
 * RETR: the file is opened through the resolver (the descriptor is what is sent), from the REST
 * offset on; one transfer outcome is reported per RETR of a file that exists, complete or aborted,
 * with the bytes the socket took. A client that takes no byte for transferIdleMs is cut off (426).
 */
async function retr(s: FtpSession, arg: string): Promise<void> {
  const offset = s.restOffset;
  s.restOffset = 0;
  const data = s.takeData();
  const area = s.area!;
  let file: OpenedFile;
  let path: string;
  try {
    path = area.resolveFile(arg, s.cwd);
    file = area.open(path);
  } catch (err) {
    data?.close();
    throw err;
  }
  const size = file.stats.size;
  if (offset > size) {
    ReadOnlyArea.closeQuietly(file);
    data?.close();
    return s.reply(554, `Restart offset ${offset} is past the end of the file (${size} bytes)`);
  }
  const started = Date.now();
  let bytes = 0;
  let ok = false;
  try {
    if (!data) {
      ReadOnlyArea.closeQuietly(file);
      return await s.reply(425, NO_DATA);
    }
    await s.reply(150, `Opening BINARY mode data connection for ${path} (${size - offset} bytes)`);
    // Invariant: `bytes` is what the socket has taken; the descriptor is closed when the send ends.
    let result;
    try {
      result = await s.transfer(
        data,
        async (socket) => {
          try {
            s.live?.reading(path);
            bytes = await sendFileRange(socket, file.fd, offset, size - 1, { idleMs: s.options.transferIdleMs, onBytes: s.live?.progress });
          } catch (err) {
            bytes = (err as Partial<SendError>).bytes ?? bytes;
            if (isStalled(err)) s.log.info('ftp transfer stalled: closed', { path, bytes });
            throw err;
          }
        },
        path,
      );
    } finally {
      ReadOnlyArea.closeQuietly(file);
      s.live?.idle(path);
    }
    ok = result === 'complete';
    const withdrawn = s.takeWithdrawn();
    if (withdrawn !== undefined && result === 'aborted') return await s.reply(426, `Transfer aborted: ${withdrawn}`);
    return await s.reply(...TRANSFER_REPLIES[result]);
  } finally {
    s.options.outcomes.report({
      customer: s.login!.customer,
      path,
      protocol: 'ftp',
      clientAddress: s.clientAddress,
      bytes,
      durationMs: Date.now() - started,
      outcome: ok ? 'complete' : 'aborted',
    });
  }
}

/** Passive mode, REST and the transfers: PASV, EPSV, RETR, LIST, NLST, MLSD, ABOR; PORT and EPRT are refused. */
export const TRANSFER_COMMANDS: CommandTable = {
  PASV: { auth: true, run: (s) => passive(s, false) },
  EPSV: {
    auth: true,
    async run(s, arg) {
      const what = arg.trim().toUpperCase();
      if (what === 'ALL') {
        s.epsvAll = true;
        return s.reply(200, 'EPSV ALL ok: only EPSV from now on');
      }
      if (what !== '' && what !== '1' && what !== '2') return s.reply(522, 'Network protocol not supported, use (1,2)');
      return passive(s, true);
    },
  },
  PORT: { auth: true, run: (s) => s.reply(502, ACTIVE_REFUSED) },
  EPRT: { auth: true, run: (s) => s.reply(502, ACTIVE_REFUSED) },
  REST: {
    auth: true,
    async run(s, arg) {
      if (!/^\d{1,15}$/.test(arg.trim())) return s.reply(501, 'REST needs a byte offset (0 or more)');
      s.restOffset = Number(arg.trim());
      return s.reply(350, `Restarting at ${s.restOffset}: send RETR to resume`);
    },
  },
  RETR: { auth: true, run: retr },
  LIST: listing((s, arg) => listingLines(s, arg, 'list')),
  NLST: listing((s, arg) => listingLines(s, arg, 'nlst')),
  MLSD: listing(mlsdLines),
  ABOR: {
    auth: true,
    // The transfer, if any, was aborted when the line arrived (session.ts); its 426 has gone out.
    async run(s) {
      s.dropData();
      return s.reply(226, 'ABOR successful');
    },
  },
};
