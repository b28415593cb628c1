import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { request } from 'node:http';
import type { Chain } from './chain.js';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

/** A real HTTP call to the web host's API (no redirects followed), with a bearer token. */
export async function api(chain: Chain, method: string, path: string, options: { token?: string; json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> } = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  const res = await fetch(`${chain.web.httpUrl}${path}`, { method, headers, body, redirect: 'manual', ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
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
export function uploadFile(url: string, token: string, file: string, size: number, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
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
