import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PinnedInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
}

/**
 * One HTTP(S) request (no redirect followed) that trusts, for https://, exactly the certificates in
 * `ca` (PEM) — the web host's own, self-signed by npm start — with the usual hostname check: the
 * global fetch has no per-request trust, and nothing here turns verification off. Answers a fetch
 * Response, read whole.
 */
export function pinnedFetch(url: string, ca: string | undefined, init: PinnedInit = {}): Promise<Response> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      { method: init.method ?? 'GET', headers: init.headers, agent: false, ...(target.protocol === 'https:' && ca ? { ca } : {}), signal: init.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one);
          }
          const status = res.statusCode ?? 0;
          const empty = status === 204 || status === 304 || init.method === 'HEAD';
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers }));
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
