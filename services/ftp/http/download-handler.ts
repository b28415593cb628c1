import { readSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { TicketVerifier } from '../../../lib/tickets/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { Areas } from '../common/areas.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { LiveSessions } from '../common/live-sessions.js';
import type { OpenFileCache } from '../common/open-file-cache.js';
import { normalizeVirtualPath } from '../common/path-resolver.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { codeOf } from '../../../lib/errors/index.js';
import { underAny } from '../common/end-options.js';
import type { TicketCutoffs } from '../common/ticket-cutoffs.js';
import { downloadDisposition } from './download-name.js';
import { decideRange } from './range.js';
import { isStalled } from '../common/stall-watch.js';
import { sendBody } from './send-body.js';
import { httpAnswerOf } from './status.js';

export interface DownloadHandlerOptions {
  areas: Areas;
  verifier: TicketVerifier;
  /** Tickets issued before a change that affects them are refused (absent: none are). */
  cutoffs?: TicketCutoffs;
  openFiles: OpenFileCache;
  /** The SHA-256 of an opened file (the repository object it links to). */
  digestOf: (realPath: string, stats: Stats) => string | Promise<string>;
  /** Where each transfer's outcome goes (the audit, through the file host). */
  outcomes: { report(outcome: TransferOutcome): void };
  /** A body the client takes no byte of for this long (ms) is cut off and audited as aborted. */
  transferIdleMs: number;
  /** Where bodies being streamed are listed while they last (sessions.list, session.end); a small body, sent with its headers, is not. */
  live?: LiveSessions;
  log: Logger;
}

/** URL prefix of downloads: `/files/<product>/<version>/<filename>?ticket=<ticket>`. */
export const FILES_PREFIX = '/files';

/** Files up to this size are read in one call and sent with the headers; larger ones stream. */
const SMALL_FILE = 64 * 1024;

/**
 * GET and HEAD of a staged file, authorised by a signed ticket. Order of checks: the ticket (403),
 * the path (404 if malformed, leaving the area, or not in its one canonical form: no trailing slash,
 * no empty, `.` or `..` segment), the ticket's path against the request's (403), the ticket's
 * issue time against the cut-offs of the change feed (403 ERR_TICKET_SUPERSEDED: ask for a new
 * link), then the file itself, opened through the area's resolver (404). Each completed or aborted body
 * is reported to the audit. An error the client may see carries its code in `x-error-code`.
 *
 * Metadata calls (realpath, open, fstat) are synchronous: on a local filesystem they take
 * microseconds, less than a trip through the thread pool; bodies are read asynchronously.
 */
export interface DownloadHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Resolves once no transfer is in progress (every outcome has been reported). */
  idle(): Promise<void>;
  /** Cuts off every download of the customer in progress (its access ended; with `paths`: those of these files); each is audited as aborted. */
  endCustomer(customer: string, paths?: readonly string[]): number;
}

export function createDownloadHandler(options: DownloadHandlerOptions): DownloadHandler {
  const { areas, verifier, openFiles, digestOf, log } = options;
  let active = 0;
  /** The bodies being sent now, by customer, with their paths (to cut them off when the customer's access ends). */
  const sending = new Map<string, Map<ServerResponse, string>>();
  const track = (customer: string, res: ServerResponse, path: string) => {
    let open = sending.get(customer);
    if (!open) sending.set(customer, (open = new Map()));
    open.set(res, path);
    res.once('close', () => {
      open.delete(res);
      if (open.size === 0 && sending.get(customer) === open) sending.delete(customer);
    });
  };
  let idleWaiters: (() => void)[] = [];
  const outcomes = {
    report(outcome: TransferOutcome): void {
      options.outcomes.report(outcome);
      if (--active === 0) {
        for (const wake of idleWaiters) wake();
        idleWaiters = [];
      }
    },
  };

  const fail = (res: ServerResponse, err: unknown): void => {
    const { status, internal } = httpAnswerOf(err);
    if (internal) log.error('download failed', { err });
    const message = internal ? 'internal error' : (err as Error).message;
    const body = `${status} ${message}\n`;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const code = internal ? undefined : codeOf(err);
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      ...(code === undefined ? {} : { 'x-error-code': code }),
    });
    res.end(body);
  };

  /** Request paths already decoded and normalised (a pure function of the path: safe to remember). */
  const normalizedPaths = new Map<string, string>();
  const normalizeRequestPath = (rawPath: string): string => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rawPath.slice(FILES_PREFIX.length));
    } catch {
      throw FileHostErrors.PATH_REFUSED('path refused: malformed percent-encoding');
    }
    const path = normalizeVirtualPath(decoded, { clamp: false });
    // A file has exactly one URL: a trailing slash (`file/`), a dot segment (`file/.`, `dir/../file`)
    // or an empty one (`dir//file`) names no file, even where it would normalise to one.
    if (path !== decoded) throw FileHostErrors.NOT_FOUND('not found: a file path has no trailing slash, empty or dot segments');
    if (normalizedPaths.size >= 10_000) normalizedPaths.clear();
    normalizedPaths.set(rawPath, path);
    return path;
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, started: number): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    if (!rawPath.startsWith(`${FILES_PREFIX}/`)) throw FileHostErrors.NOT_FOUND('not found');
    const ticket = q < 0 ? null : ticketParam(url.slice(q + 1));
    if (!ticket) throw FileHostErrors.TICKET_INVALID('a download ticket is required (?ticket=…)');
    const verdict = verifier.verify(ticket);
    if (!verdict.ok) throw FileHostErrors.TICKET_INVALID(verdict.message, { reason: verdict.reason });
    const path = normalizedPaths.get(rawPath) ?? normalizeRequestPath(rawPath);
    const { claims } = verdict;
    if (path !== claims.path) throw FileHostErrors.TICKET_INVALID('the ticket is for another file');
    options.cutoffs?.check(claims); // remembered tickets too: the verifier's cache knows nothing of changes
    const { file, release } = openFiles.acquire(claims.customer, path, () => areas.rootOf(claims.customer));
    let handedOff = false;
    try {
      const { stats } = file;
      const headers = file.headers ?? (file.headers = baseHeaders(path, stats.mtime, await digestOf(file.realPath, stats)));
      const etag = headers.etag as string;
      const ifMatch = req.headers['if-match'];
      if (ifMatch !== undefined && !matchesEtag(ifMatch, etag)) {
        res.writeHead(412, headers).end();
        return;
      }
      if (notModified(req, etag, stats.mtimeMs)) {
        res.writeHead(304, headers).end();
        return;
      }
      const size = stats.size;
      const rangeHeader = req.headers.range !== undefined && rangeApplies(req, etag, stats.mtimeMs) ? req.headers.range : undefined;
      const range = decideRange(size, rangeHeader);
      if (range.kind === 'unsatisfiable') {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0 }).end();
        return;
      }
      const start = range.kind === 'partial' ? range.start : 0;
      const end = range.kind === 'partial' ? range.end : size - 1;
      const length = size === 0 ? 0 : end - start + 1;
      if (range.kind === 'partial') res.writeHead(206, { ...headers, 'content-length': length, 'content-range': `bytes ${start}-${end}/${size}` });
      else res.writeHead(200, file.fullHeaders ?? (file.fullHeaders = { ...headers, 'content-length': length }));
      if (req.method === 'HEAD' || length === 0) {
        res.end();
        return;
      }
      active++; // every path below reports exactly once
      const report = (bytes: number) =>
        outcomes.report({
          customer: claims.customer,
          artifactId: claims.artifactId ?? null,
          path,
          protocol: 'http',
          clientAddress: req.socket.remoteAddress ?? 'unknown',
          bytes,
          durationMs: Math.round(performance.now() - started),
          outcome: bytes === length ? 'complete' : 'aborted',
        });
      if (length <= SMALL_FILE) {
        const body = Buffer.allocUnsafe(length);
        const read = readSync(file.fd, body, 0, length, start);
        release();
        handedOff = true;
        if (read !== length) {
          res.destroy(); // the file shrank under us
          report(0);
          return;
        }
        res.end(body);
        res.once('close', () => report(res.writableFinished ? length : 0));
        return;
      }
      handedOff = true;
      track(claims.customer, res, path);
      const live = options.live?.open({
        customer: claims.customer,
        protocol: 'http',
        clientAddress: req.socket.remoteAddress ?? 'unknown',
        file: path,
        // A reset, not a close: the client learns at once, not after reading what the socket buffers still hold.
        end: () => (res.socket ? res.socket.resetAndDestroy() : res.destroy()),
      });
      sendBody(
        res,
        { fd: file.fd, start, end },
        options.transferIdleMs,
        (sent, err) => {
          live?.close();
          release();
          if (isStalled(err)) log.info('download stalled: closed', { customer: claims.customer, path, clientAddress: req.socket.remoteAddress, bytes: sent });
          report(sent);
        },
        live?.progress,
      );
    } finally {
      if (!handedOff) release();
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = `405 ${req.method ?? ''} is not allowed here; use GET or HEAD\n`;
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    serve(req, res, started).catch((err: unknown) => fail(res, err));
  };
  return Object.assign(handler, {
    idle: () => (active === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    endCustomer: (customer: string, paths?: readonly string[]) => {
      const open = [...(sending.get(customer) ?? [])].filter(([, path]) => paths === undefined || underAny(path, paths));
      for (const [res] of open) res.destroy();
      return open.length;
    },
  });
}

/** The headers every response for this file carries; computed once per open-file cache entry. */
function baseHeaders(path: string, mtime: Date, sha256: string): Record<string, string | number> {
  return {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag: `"${sha256}"`,
    'last-modified': mtime.toUTCString(),
    'content-disposition': downloadDisposition(basename(path)),
    'x-checksum-sha256': sha256,
    'repr-digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`,
    'cache-control': 'private, no-transform',
  };
}

/** The `ticket` parameter of a query string (tickets are URL-safe; an escaped one is decoded). */
function ticketParam(query: string): string | null {
  for (const pair of query.split('&')) {
    if (!pair.startsWith('ticket=')) continue;
    const value = pair.slice(7);
    if (!value.includes('%')) return value;
    try {
      return decodeURIComponent(value);
    } catch {
      return null;
    }
  }
  return null;
}

function matchesEtag(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** If-None-Match (or, without it, If-Modified-Since) says the client's copy is current. */
function notModified(req: IncomingMessage, etag: string, mtimeMs: number): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return matchesEtag(inm, etag);
  const ims = req.headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/** If-Range: the Range counts only if the validator names this very file (strong ETag or exact date). */
function rangeApplies(req: IncomingMessage, etag: string, mtimeMs: number): boolean {
  const ifRange = req.headers['if-range'];
  if (ifRange === undefined) return true;
  const value = String(ifRange).trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && date === Math.floor(mtimeMs / 1000) * 1000;
}
