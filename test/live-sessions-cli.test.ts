import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../scripts/admin.js';
import { makeTokens } from './helpers/api.js';
import { startChain } from './helpers/chain.js';
import { PASSWORD, Raw } from './helpers/ftp.js';

test('admin sessions list and end work against a running web host, with the token from a file or FFS_ADMIN_TOKEN; exit codes as the other commands', async (t) => {
  const passive = 32_000 + Math.floor(Math.random() * 60) * 10;
  const chain = await startChain(t, {
    webHttp: {},
    fileHost: { ftp: { port: 0, passivePortMin: passive, passivePortMax: passive + 9, passiveAddress: '', requireTls: false } },
  });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const tokens = await makeTokens(chain);
  const dir = await mkdtemp(join(tmpdir(), 'ffs-admin-sessions-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'admin-token'), `${tokens.admin}\n`, { mode: 0o600 });
  const run = async (argv: string[], env: Record<string, string> = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, { env: { FFS_DATA_DIR: dir, ...env }, cwd: dir, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    return { code, stdout, stderr };
  };
  const url = ['--url', chain.web.httpUrl];
  const tokenFile = ['--token-file', join(dir, 'admin-token')];

  const ftp = await Raw.open(t, chain.fileHost.ftpAddress!.port);
  await ftp.reply();
  await ftp.login();

  const json = await run(['sessions', 'list', '--json'], { FFS_WEB_URL: chain.web.httpUrl, FFS_ADMIN_TOKEN: tokens.admin });
  t.is(json.code, 0, json.stderr);
  const sessions = (JSON.parse(json.stdout) as { sessions: { id: string; customer: string }[] }).sessions;
  t.is(sessions.length, 1);
  const id = sessions[0]!.id;
  t.regex(id, /^file-1:ftp-[0-9a-f]{6}-1$/);
  const list = await run(['sessions', 'list', ...url, ...tokenFile]);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^id\s+customer\s+protocol\s+clientAddress\s+file\s+bytes\s+rate\s+elapsed$/m);
  t.regex(list.stdout, new RegExp(`^${id}\\s+globex\\s+ftp\\s+127\\.0\\.0\\.1\\s+-\\s+0 B\\s+0 B/s\\s+\\d+ s$`, 'm'));

  // Refused: a customer's token (403), an unknown session (404): exit 3 with the code.
  const forbidden = await run(['sessions', 'list', ...url], { FFS_ADMIN_TOKEN: tokens.customer });
  t.is(forbidden.code, 3);
  t.regex(forbidden.stderr, /ERR_FORBIDDEN/);

  const end = await run(['sessions', 'end', id, '--reason', 'Closed by the operator', ...url, ...tokenFile]);
  t.is(end.code, 0, end.stderr);
  t.is(end.stdout, `session ${id} ended\n`);
  const told = await ftp.reply(5000);
  t.is(told.code, 421);
  t.regex(told.text, /Closed by the operator/);
  await ftp.whenClosed(5000);
  const again = await run(['sessions', 'end', id, ...url, ...tokenFile]);
  t.is(again.code, 3);
  t.regex(again.stderr, /ERR_NOT_FOUND/);
  t.regex((await run(['sessions', 'list', ...url, ...tokenFile])).stdout, /^\(none\)$/m);

  // Usage errors: no token, no id, an unknown verb, a stray flag (2); the web host unreachable (1).
  t.is((await run(['sessions', 'list', ...url])).code, 2);
  t.is((await run(['sessions', 'end', ...url, ...tokenFile])).code, 2);
  t.is((await run(['sessions', 'kill', 'x', ...url, ...tokenFile])).code, 2);
  t.is((await run(['sessions', 'list', '--db', 'x', ...url, ...tokenFile])).code, 2);
  t.is((await run(['sessions', 'list', '--url', 'http://127.0.0.1:1', ...tokenFile])).code, 1);
  t.regex((await run(['help'])).stdout, /admin sessions end ID/);
});
