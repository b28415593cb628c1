import type { CommandTable } from './command.js';
import { codeOf } from '../../../lib/errors/index.js';
import { oneLine, replyOf } from './replies.js';
import type { FtpSession } from './session.js';

const TLS_FIRST = 'TLS required: send AUTH TLS before logging in (explicit FTPS)';

/**
 * Login and TLS: USER, PASS (checked live through CustomerLogins), AUTH TLS, PBSZ, PROT. With
 * `requireTls`, USER and PASS are refused before AUTH TLS, and PROT C is refused.
 */
export const AUTH_COMMANDS: CommandTable = {
  USER: {
    auth: false,
    async run(s, arg) {
      if (s.login) return s.reply(503, 'Already logged in');
      if (s.options.requireTls && !s.secure) return s.reply(530, TLS_FIRST);
      if (arg.trim() === '') return s.reply(501, 'USER needs a login name');
      s.user = arg.trim();
      return s.reply(331, `Password required for ${oneLine(s.user, 64)}`);
    },
  },
  PASS: { auth: false, run: pass },
  AUTH: {
    auth: false,
    async run(s, arg) {
      const mechanism = arg.trim().toUpperCase();
      if (!s.secureContext) return s.reply(502, 'AUTH is not available: this server has no TLS certificate');
      if (mechanism !== 'TLS' && mechanism !== 'TLS-C' && mechanism !== 'SSL')
        return s.reply(504, `AUTH ${oneLine(mechanism, 16)} is not supported: use AUTH TLS`);
      if (s.secure) return s.reply(503, 'Already using TLS');
      if (s.login || s.user !== undefined) return s.reply(503, 'AUTH TLS must come before USER');
      return s.startTls(s.secureContext);
    },
  },
  PBSZ: {
    auth: false,
    async run(s, arg) {
      if (!s.secure) return s.reply(503, 'PBSZ needs AUTH TLS first');
      if (!/^\d+$/.test(arg.trim())) return s.reply(501, 'PBSZ needs a number (0)');
      s.pbsz = true;
      return s.reply(200, 'PBSZ=0');
    },
  },
  PROT: {
    auth: false,
    async run(s, arg) {
      if (!s.secure) return s.reply(503, 'PROT needs AUTH TLS first');
      if (!s.pbsz) return s.reply(503, 'PROT needs PBSZ first');
      switch (arg.trim().toUpperCase()) {
        case 'P':
          s.protectData = true;
          return s.reply(200, 'Protection level set to Private: data connections are TLS');
        case 'C':
          if (s.options.requireTls) return s.reply(534, 'Data connections must be protected on this server: use PROT P');
          s.protectData = false;
          return s.reply(200, 'Protection level set to Clear');
        case 'S':
        case 'E':
          return s.reply(536, 'Only PROT P and PROT C are supported');
        default:
          return s.reply(504, 'PROT takes P or C');
      }
    },
  },
};

async function pass(s: FtpSession, password: string): Promise<void> {
  if (s.login) return s.reply(503, 'Already logged in');
  if (s.options.requireTls && !s.secure) return s.reply(530, TLS_FIRST);
  const login = s.user;
  if (login === undefined) return s.reply(503, 'Send USER first');
  s.user = undefined;
  let session;
  try {
    session = await s.options.logins.login({ login, password, protocol: 'ftp', clientAddress: s.clientAddress });
  } catch (err) {
    const known = replyOf(err);
    if (!known || known.internal) s.log.error('ftp login failed', { err, login: login.slice(0, 64) });
    else if (known.code === 421) s.log.warn('ftp login not possible now', { code: codeOf(err), login: login.slice(0, 64) });
    const reply = known ?? { code: 421, message: 'Service not available, try again later', close: true };
    if (reply.close) return s.close(reply.code, reply.message);
    return s.reply(reply.code, reply.message);
  }
  if (s.closed) {
    session.end(); // the client left (or the server is closing) while the login was checked
    return;
  }
  s.loggedIn(session);
  s.log.info('ftp login', { customer: session.customer });
  return s.reply(230, `Logged in as ${session.customer}: read-only access to your downloads`);
}
