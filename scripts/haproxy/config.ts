import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { errorText, parseFlags, resolveIo, runIfEntryPoint, type ScriptIo } from '../cli.js';

/**
 * Fills scripts/haproxy/haproxy.cfg, the one HAProxy configuration the project ships (round robin
 * over the web hosts, /readyz health checks, X-Forwarded-For, safe retries): users run it as a
 * command, test/web-haproxy.test.ts calls haproxyConfig(). The template holds every setting; this
 * fills only where HAProxy listens, the web hosts, and where it logs and keeps its stats socket.
 */
export const TEMPLATE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'haproxy', 'haproxy.cfg');

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** A host name, an IPv4 address or a bracketed IPv6 address: nothing HAProxy would read as a second word. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.:-]{1,253})$/;
/** A path HAProxy takes as one word. */
const PATH = /^\/[^\s"'#{}]*$/;
const port = (what: string) => z.number().int().min(1, `${what} must be 1-65535`).max(65535, `${what} must be 1-65535`);

const webHost = z.strictObject({
  name: z.string().regex(NAME, 'name: letters, digits, _ . - (at most 63)'),
  host: z.string().regex(HOST, 'host: a host name or an address'),
  /** Its HTTP port (services.web.port), where HAProxy also asks /readyz. */
  port: port('port'),
});

export const haproxyOptionsSchema = z
  .strictObject({
    /** Where HAProxy listens for customers. */
    bind: z.strictObject({ host: z.string().regex(HOST, 'bind.host: a host name or an address'), port: port('bind.port') }),
    webHosts: z.array(webHost).min(1, 'webHosts: at least one web host'),
    /** HAProxy terminates TLS with this PEM (certificate chain then key), HTTP/2 and HTTP/1.1 by ALPN; absent: plain HTTP. */
    tlsPemPath: z.string().regex(PATH, 'tlsPemPath: an absolute path').optional(),
    /** HAProxy's stats socket (show stat, disable server …). */
    statsSocket: z.string().regex(PATH, 'statsSocket: an absolute path').default('/run/haproxy/admin.sock'),
    /** Where HAProxy logs: a syslog socket, an address, or stderr. */
    log: z
      .string()
      .regex(/^(stderr|stdout|\/[^\s]*|[A-Za-z0-9_.:[\]-]+)$/, 'log: stderr, a socket path or an address')
      .default('/dev/log'),
  })
  .superRefine((o, ctx) => {
    const names = o.webHosts.map((h) => h.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) ctx.addIssue({ code: 'custom', path: ['webHosts'], message: `webHosts: the name ${twice} is given twice` });
  });

export type HaproxyOptions = z.input<typeof haproxyOptionsSchema>;

/** The template's text (read once). */
let template: string | undefined;

/** The HAProxy configuration for `options` (validated: a bad field throws, naming it). */
export function haproxyConfig(options: HaproxyOptions): string {
  const parsed = haproxyOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`haproxy config: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const o = parsed.data;
  template ??= readFileSync(TEMPLATE_PATH, 'utf8');
  const bind = `${o.bind.host}:${o.bind.port}${o.tlsPemPath === undefined ? '' : ` ssl crt ${o.tlsPemPath} alpn h2,http/1.1`}`;
  const servers = o.webHosts.map((h) => `    server ${h.name} ${h.host}:${h.port}`).join('\n');
  const values: Record<string, string> = { bind, servers, log: o.log, statsSocket: o.statsSocket };
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${TEMPLATE_PATH}: unknown placeholder ${whole}`);
    return value;
  });
}

/** `name=host:port` (the --web-host flag) as a web host. */
export function parseWebHost(text: string): z.input<typeof webHost> {
  const match = /^([^=]+)=(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (!match) throw new Error(`--web-host ${text}: expected name=host:port`);
  return { name: match[1]!, host: match[2]!, port: Number(match[3]) };
}

export const USAGE = `usage: haproxy-config --bind host:port --web-host name=host:port … [options]
  --bind host:port       where HAProxy listens for customers
  --web-host name=host:port  a web host's HTTP address (HAProxy asks /readyz there too); once per host
  --tls-pem path         HAProxy terminates TLS with this PEM (certificate chain, then key)
  --stats-socket path    HAProxy's stats socket (default /run/haproxy/admin.sock)
  --log target           stderr, a syslog socket or address (default /dev/log)
  --out file             write the configuration there (default: standard output)`;

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  const flags = parseFlags(
    'haproxy-config',
    argv,
    {
      bind: { type: 'string' },
      'web-host': { type: 'string', multiple: true },
      'tls-pem': { type: 'string' },
      'stats-socket': { type: 'string' },
      log: { type: 'string' },
      out: { type: 'string' },
    },
    USAGE,
    resolved,
  );
  if (flags === undefined) return 2;
  if (flags === 'help') return 0;
  try {
    const bind = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(String(flags.bind ?? ''));
    if (!bind) throw new Error('--bind host:port is required');
    const webHosts = ((flags['web-host'] as unknown as string[] | undefined) ?? []).map(parseWebHost);
    const text = haproxyConfig({
      bind: { host: bind[1]!, port: Number(bind[2]) },
      webHosts,
      ...(typeof flags['tls-pem'] === 'string' ? { tlsPemPath: flags['tls-pem'] } : {}),
      ...(typeof flags['stats-socket'] === 'string' ? { statsSocket: flags['stats-socket'] } : {}),
      ...(typeof flags.log === 'string' ? { log: flags.log } : {}),
    });
    if (typeof flags.out === 'string') await writeFile(flags.out, text);
    else resolved.out(text.trimEnd());
    return 0;
  } catch (e) {
    resolved.err(`haproxy-config: ${errorText(e)}`);
    return 1;
  }
}

runIfEntryPoint(import.meta.url, main);
