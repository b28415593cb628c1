/** The topology's plan, rules, service settings and command line, without touching the system. */
import test from 'ava';
import { loadConfig } from '../lib/config/index.js';
import { main } from '../scripts/topology.js';
import { DEFAULT_PORTS, HOST_ROLES, namesOf, networksOverlap, planTopology, type TopologyOptions } from '../scripts/topology/plan.js';
import { rulesFor } from '../scripts/topology/rules.js';
import { serviceCommandLine, serviceEnv } from '../scripts/topology/services.js';
import { systemTool } from '../scripts/topology/shell.js';

const options = (over: Partial<TopologyOptions> = {}): TopologyOptions => ({
  prefix: 'ffs',
  subnet: '10.77.0.0/24',
  internalMode: 'listen',
  ports: { ...DEFAULT_PORTS },
  ...over,
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

test('the plan names every namespace after the prefix and keeps interface names within 15 characters', (t) => {
  const plan = planTopology(options({ prefix: 'abcdefghij' }));
  t.deepEqual(plan.namespaces, { web: 'abcdefghij-web', file: 'abcdefghij-file', internal: 'abcdefghij-internal', lan: 'abcdefghij-lan' });
  t.true(plan.customerInterface.length <= 15);
  t.deepEqual(plan.addresses, { customer: '10.77.0.1', web: '10.77.0.10', file: '10.77.0.20', internal: '10.77.0.30' });
  t.deepEqual(namesOf('abcdefghij'), { namespaces: Object.values(plan.namespaces), customerInterface: plan.customerInterface });
});

test('the plan refuses a bad prefix, subnet, mode or port, naming it', (t) => {
  t.throws(() => planTopology(options({ prefix: 'abcdefghijk' })), { message: /prefix/ });
  t.throws(() => planTopology(options({ prefix: 'Web' })), { message: /prefix/ });
  t.throws(() => planTopology(options({ subnet: '10.77.0.0/16' })), { message: /subnet/ });
  t.throws(() => planTopology(options({ subnet: '10.277.0.0/24' })), { message: /subnet/ });
  t.throws(() => planTopology(options({ internalMode: 'both' as never })), { message: /mode/ });
  t.throws(() => planTopology(options({ ports: { ...DEFAULT_PORTS, ftp: 70000 } })), { message: /ftp/ });
  t.throws(() => planTopology(options({ ports: { ...DEFAULT_PORTS, passiveMin: 30200, passiveMax: 30100 } })), { message: /passive/ });
});

test('networks overlap when one holds the other', (t) => {
  t.true(networksOverlap({ address: '10.77.0.1', length: 24 }, { address: '10.0.0.0', length: 8 }));
  t.true(networksOverlap({ address: '10.77.0.1', length: 24 }, { address: '10.77.0.200', length: 32 }));
  t.false(networksOverlap({ address: '10.77.0.1', length: 24 }, { address: '10.77.1.1', length: 24 }));
  t.false(networksOverlap({ address: '10.77.0.1', length: 24 }, { address: '192.0.2.2', length: 24 }));
});

test('each rule set drops by default and opens only its host’s ports; in dial mode the internal host opens nothing', (t) => {
  const listen = planTopology(options());
  const dial = planTopology(options({ internalMode: 'dial' }));
  for (const plan of [listen, dial]) for (const role of HOST_ROLES) t.regex(rulesFor(plan, role), /policy drop;/);
  t.regex(rulesFor(listen, 'web'), /tcp dport 8080 accept/);
  t.regex(rulesFor(listen, 'web'), /ip saddr 10\.77\.0\.20 tcp dport 7400 accept/);
  t.notRegex(rulesFor(listen, 'web'), /7403/);
  t.regex(rulesFor(dial, 'web'), /ip saddr 10\.77\.0\.30 tcp dport 7403 accept/);
  t.regex(rulesFor(listen, 'file'), /tcp dport \{ 2121, 2222, 8081 \} accept/);
  t.regex(rulesFor(listen, 'file'), /tcp dport 30000-30199 accept/);
  t.regex(rulesFor(listen, 'internal'), /ip saddr 10\.77\.0\.10 tcp dport 7402 accept/);
  t.notRegex(rulesFor(dial, 'internal'), / accept comment/);
});

test('the settings of each service are configuration fields that load, with the host’s address', (t) => {
  for (const mode of ['listen', 'dial'] as const) {
    const plan = planTopology(options({ internalMode: mode }));
    const internal = loadConfig({ env: serviceEnv(plan, 'internal', '/data/internal'), cwd: '/' }).services.internalDb;
    t.like(internal, { mode, host: '10.77.0.30', commlinkPort: 7402, dialHost: '10.77.0.10', dialPort: 7403 });
    const web = loadConfig({ env: serviceEnv(plan, 'web', '/data/web'), cwd: '/' }).services;
    t.like(web.web, { host: '10.77.0.10', port: 8080, commlinkPort: 7400 });
    t.like(web.internalDb, { mode, host: '10.77.0.30', commlinkPort: 7402, dialPort: 7403 });
    const file = loadConfig({ env: serviceEnv(plan, 'file', '/data/file'), cwd: '/' });
    t.like(file.services.ftp, {
      host: '10.77.0.20',
      httpPort: 8081,
      ftpPort: 2121,
      sftpPort: 2222,
      ftpPassivePortMin: 30000,
      ftpPassivePortMax: 30199,
      ftpPassiveAddress: '10.77.0.20',
    });
    t.like(file.services.web, { host: '10.77.0.10', commlinkPort: 7400 });
    t.is(file.dataDir, '/data/file');
  }
  t.is(
    serviceCommandLine(planTopology(options()), 'web', 'var/ffs/web'),
    'ip netns exec ffs-web env FFS_DATA_DIR=var/ffs/web FFS_SERVICES__WEB__HOST=10.77.0.10 FFS_SERVICES__WEB__PORT=8080 FFS_SERVICES__WEB__COMMLINK_PORT=7400 FFS_SERVICES__INTERNAL_DB__MODE=listen FFS_SERVICES__INTERNAL_DB__HOST=10.77.0.30 FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT=7402 FFS_SERVICES__INTERNAL_DB__DIAL_PORT=7403 node dist/services/web/main.js',
  );
});

test('system tools are never taken from node_modules/.bin (where @vercel/nft is an `nft` too)', (t) => {
  t.false(systemTool('nft').includes('node_modules'));
  t.false(systemTool('ip').includes('node_modules'));
});

test('topology: usage errors exit 2 with the usage; --help exits 0', async (t) => {
  for (const argv of [
    [],
    ['sideways'],
    ['up', '--prefix', 'NO'],
    ['up', '--subnet', '10.0.0.0/8'],
    ['up', '--ftp-port', 'x'],
    ['up', '--passive-ports', '5'],
    ['up', 'extra'],
    ['down', '--subnet', '10.77.0.0/24'],
    ['down', '--prefix', 'a_b'],
  ]) {
    const { code, err } = await cli(argv);
    t.is(code, 2, argv.join(' '));
    t.regex(err, /usage: topology|prefix must be/, argv.join(' '));
  }
  const help = await cli(['--help']);
  t.is(help.code, 0);
  t.regex(help.out, /usage: topology up/);
  t.is((await cli(['up', '--help'])).code, 0);
});
