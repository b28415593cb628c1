import http from 'node:http';
import https from 'node:https';
import { pinnedLookup, type CheckedTarget } from './target.js';

/** The most of an endpoint's answer read (for the delivery log); the rest is dropped. */
export const MAX_ANSWER_BYTES = 4096;

export interface AttemptResult {
  /** A 2xx came back. */
  ok: boolean;
  /** The status the endpoint answered; null when none came (refused, reset, timed out). */
  status: number | null;
  /** Why it failed (null when ok). */
  error: string | null;
  durationMs: number;
}

/**
 * One POST of a delivery to a checked target: to its pinned address, within `timeoutMs` (connect,
 * send and the answer's head and first KB), redirects not followed (a 3xx is a failure), and no
 * more than MAX_ANSWER_BYTES of the answer read. Never rejects: a failure is in the result.
 */
export function sendAttempt(
  target: CheckedTarget,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<AttemptResult> {
  const started = Date.now();
  const { url } = target;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve({ ok: error === null && status !== null && status >= 200 && status < 300, status, error, durationMs: Date.now() - started });
    };
    const request = url.protocol === 'https:' ? https.request : http.request;
    const req = request({
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' },
      lookup: pinnedLookup(target),
      agent: false,
    });
    const timer = setTimeout(() => finish(null, `timed out after ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => finish(null, 'aborted (this web host stopped delivering to the endpoint)');
    signal.addEventListener('abort', onAbort);
    if (signal.aborted) onAbort();
    req.on('error', (err: NodeJS.ErrnoException) => finish(null, err.code ? `${err.code}: ${err.message}` : err.message));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      const done = () => {
        if (status >= 300 && status < 400) finish(status, `redirect (HTTP ${status}) not followed`);
        else if (status >= 200 && status < 300) finish(status, null);
        else finish(status, `HTTP ${status}`);
      };
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= MAX_ANSWER_BYTES) done();
      });
      res.on('end', done);
      res.on('error', done);
    });
    req.end(body);
  });
}
