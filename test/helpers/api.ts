import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { request } from 'node:http';
import type { Chain } from './chain.js';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

export interface ApiCallOptions {
  token?: string;
  json?: unknown;
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  /** Give up after this long (default: no limit of its own; the test's timeout). */
  timeoutMs?: number;
}

/** A real HTTP call to the web host's API (no redirects followed), with a bearer token. */
export function api(chain: Chain, method: string, path: string, options: ApiCallOptions = {}): Promise<ApiAnswer> {
  return apiAt(chain.web.httpUrl, method, path, options);
}

/** The same call to a web host at `baseUrl` (one running as a process, or in a namespace). */
export async function apiAt(baseUrl: string, method: string, path: string, options: ApiCallOptions = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body,
    redirect: 'manual',
    signal,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = {};
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Tokens for an admin, the vendor "Acme Software" and the customer `globex`, made through the internal-db. */
export async function makeTokens(chain: Chain, customer = 'globex'): Promise<{ admin: string; vendor: string; customer: string }> {
  const token = async (kind: string, owner?: string) => (await chain.call('token.create', owner === undefined ? { kind } : { kind, owner })).token as string;
  return { admin: await token('admin'), vendor: await token('vendor', 'Acme Software'), customer: await token('customer', customer) };
}

/** Streams a file to the API with node:http (Content-Length declared, never buffered whole). */
export function uploadFile(
  url: string,
  token: string,
  file: string,
  size: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    req.on('error', reject);
    createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

/** SHA-256 (hex) of a stream's bytes. */
export async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** `size` random bytes written to a file at `path` (a vendor's artifact), with their SHA-256. */
export async function writeRandomFile(path: string, size: number): Promise<{ path: string; sha256: string }> {
  const handle = await open(path, 'w', 0o600);
  const hash = createHash('sha256');
  try {
    for (let written = 0; written < size;) {
      const block = randomBytes(Math.min(4 * 1024 * 1024, size - written));
      hash.update(block);
      await handle.write(block);
      written += block.length;
    }
  } finally {
    await handle.close();
  }
  return { path, sha256: hash.digest('hex') };
}
