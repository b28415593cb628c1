/**
 * Clients of the customer portal (a fetch client with a cookie jar of its own; headless Chromium)
 * and a portal on the real chain to drive them against.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { request } from 'node:http';
import type { ExecutionContext } from 'ava';
import { chromium, type Browser } from 'playwright-core';
import { publish, startChain, type Chain, type ChainOptions } from './chain.js';

export const CHROMIUM = '/usr/bin/chromium';

export interface PageAnswer {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
  /** The Set-Cookie lines of this answer, whole. */
  setCookies: string[];
}

/**
 * A portal visitor over fetch: no redirects followed (each 303 is checked by the test), cookies
 * kept by hand (name → value; a cookie set empty or already expired is dropped).
 */
export class PortalClient {
  readonly base: string;
  readonly jar = new Map<string, string>();
  /** The source address of its connections (on 127.0.0.0/8, another client); undefined: the system's choice. */
  readonly localAddress: string | undefined;

  constructor(base: string, localAddress?: string) {
    this.base = base;
    this.localAddress = localAddress;
  }

  /** A copy with the same cookies (a "stolen" cookie, a second tab), from the same address. */
  clone(): PortalClient {
    const copy = new PortalClient(this.base, this.localAddress);
    for (const [k, v] of this.jar) copy.jar.set(k, v);
    return copy;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<PageAnswer> {
    return this.#send('GET', path, undefined, headers);
  }

  /** POSTs an urlencoded form. */
  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<PageAnswer> {
    return this.#send('POST', path, new URLSearchParams(fields).toString(), { 'content-type': 'application/x-www-form-urlencoded', ...headers });
  }

  /** Signs in through the form (GET /signin for its token, then POST). */
  async signIn(login: string, password: string, next?: string): Promise<PageAnswer> {
    const form = await this.get(next ? `/signin?next=${encodeURIComponent(next)}` : '/signin');
    return this.post('/signin', { csrf: csrfOf(form.text), login, password, ...(next ? { next } : {}) });
  }

  async #send(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<PageAnswer> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await send(new URL(path, this.base), method, body, { ...(cookie ? { cookie } : {}), ...headers }, this.localAddress);
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) this.#keep(line);
    return { ...res, location: res.headers.get('location'), setCookies };
  }

  #keep(line: string): void {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    const expires = attributes.find((a) => /^expires=/i.test(a));
    const expired = expires !== undefined && Date.parse(expires.slice(8)) <= Date.now();
    if (value === '' || expired || attributes.some((a) => /^max-age=0$/i.test(a))) this.jar.delete(name);
    else this.jar.set(name, value);
  }
}

/** One HTTP request with node:http (its own connection, from `localAddress` when given); no redirect followed. */
function send(
  url: URL,
  method: string,
  body: string | undefined,
  headers: Record<string, string>,
  localAddress: string | undefined,
): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const one of Array.isArray(value) ? value : [value ?? '']) answer.append(name, one);
        }
        resolve({ status: res.statusCode!, headers: answer, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The first form's anti-forgery token in a page. */
export function csrfOf(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  if (!match) throw new Error(`no csrf token in the page: ${page.slice(0, 300)}`);
  return match[1]!;
}

/** Headless Chromium (the Debian package), with `extraArgs` (a certificate pin, host mappings). Missing Chromium fails the test: CI installs it. */
export async function launchChromium(t: ExecutionContext, extraArgs: readonly string[] = []): Promise<Browser> {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

// ---------------------------------------------------------------------------------------------
// A portal on the real chain

export const PASSWORD = 'correct horse battery';

export interface PortalSetup {
  chain: Chain;
  /** acme-db 1.0.0's one file. */
  content: Buffer;
  sha256: string;
  /** A signed-out visitor of the portal. */
  client: PortalClient;
}

/** The chain with the portal; acme-db 1.0.0 published; customer globex entitled to acme-db. */
export async function portalSetup(t: ExecutionContext, options: ChainOptions = {}): Promise<PortalSetup> {
  const chain = await startChain(t, { ...options, webHttp: { ...options.webHttp } });
  const content = randomBytes(200_000);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex Corp', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  return { chain, content, sha256: createHash('sha256').update(content).digest('hex'), client: new PortalClient(chain.web.httpUrl) };
}

/** Puts acme-db behind a new EULA; returns its id. */
export async function requireEula(chain: Chain, title = 'Acme DB licence', body = 'You may use Acme DB.\nDo not resell it.'): Promise<number> {
  const id = (await chain.call('eula.create', { title, body })).id as number;
  await chain.call('product.setEula', { product: 'acme-db', eula: id });
  return id;
}
