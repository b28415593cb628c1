import { isIP } from 'node:net';
import { CONFIG_DEFAULTS } from '../../../lib/config/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { CustomerLogins } from '../common/customer-login.js';
import type { LiveSessions } from '../common/live-sessions.js';
import type { FileChecksums } from '../repository/file-checksums.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';

export interface FtpServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  passivePortMin: number;
  passivePortMax: number;
  /** The address announced in PASV replies; '' → `host` (or, when that is a wildcard, the address the client reached). */
  passiveAddress: string;
  /** Refuse USER/PASS until the control connection is TLS (AUTH TLS), and data connections until PROT P. */
  requireTls: boolean;
  /** PEM certificate and key; when given, AUTH TLS (explicit FTPS) is offered. */
  tls?: { cert: string; key: string };
  loginTimeoutMs: number;
  idleTimeoutMs: number;
  /** A transfer (RETR, a listing) whose client takes no byte for this long is closed (426); default services.ftp.transferIdleSeconds. */
  transferIdleMs?: number;
  logins: CustomerLogins;
  /** Checksums of area files by object (the file host's); when given, HASH, XSHA256, XSHA1 and XMD5 are offered. */
  checksums?: Pick<FileChecksums, 'of'>;
  outcomes: { report(outcome: TransferOutcome): void };
  /** Where logged-in sessions are listed while they last (sessions.list, session.end). */
  live?: LiveSessions;
  log: Logger;
}

/** The options as a server holds them: checked, with the defaults filled in. */
export type ResolvedFtpOptions = Readonly<FtpServerOptions & { transferIdleMs: number }>;

function invalid(field: string, message: string): never {
  throw FileHostErrors.INVALID_INPUT(`options.${field} ${message}`, { field });
}

function port(options: FtpServerOptions, field: 'port' | 'passivePortMin' | 'passivePortMax', min: number): void {
  const value = options[field];
  if (!Number.isInteger(value) || value < min || value > 65535) invalid(field, `must be an integer from ${min} to 65535, not ${String(value)}`);
}

function positive(options: FtpServerOptions, field: 'loginTimeoutMs' | 'idleTimeoutMs' | 'transferIdleMs'): void {
  const value = options[field];
  if (value === undefined || !Number.isInteger(value) || value <= 0) invalid(field, `must be a positive integer (ms), not ${String(value)}`);
}

/** Checks each field (naming it in the message), and returns a frozen copy with the defaults filled in. */
export function validateOptions(options: FtpServerOptions): ResolvedFtpOptions {
  if (typeof options?.host !== 'string' || options.host === '') invalid('host', 'must be a host name or address');
  port(options, 'port', 0);
  port(options, 'passivePortMin', 1);
  port(options, 'passivePortMax', 1);
  if (options.passivePortMax < options.passivePortMin) invalid('passivePortMax', `must be >= options.passivePortMin, which is ${options.passivePortMin}`);
  if (typeof options.passiveAddress !== 'string') invalid('passiveAddress', 'must be a string (empty: the host)');
  if (options.passiveAddress !== '' && isIP(options.passiveAddress) !== 4)
    invalid('passiveAddress', 'must be an IPv4 address (PASV announces IPv4 only) or empty');
  if (typeof options.requireTls !== 'boolean') invalid('requireTls', 'must be a boolean');
  if (options.tls !== undefined && (typeof options.tls?.cert !== 'string' || typeof options.tls?.key !== 'string'))
    invalid('tls', 'must hold a PEM cert and key');
  if (options.requireTls && !options.tls) invalid('requireTls', 'needs options.tls (a certificate and key)');
  positive(options, 'loginTimeoutMs');
  positive(options, 'idleTimeoutMs');
  if (options.transferIdleMs !== undefined) positive(options, 'transferIdleMs');
  if (typeof options.logins?.login !== 'function') invalid('logins', 'must be the file host’s CustomerLogins');
  if (options.checksums !== undefined && typeof options.checksums?.of !== 'function') invalid('checksums', 'must be the file host’s FileChecksums');
  if (typeof options.outcomes?.report !== 'function') invalid('outcomes', 'must have report(outcome)');
  if (typeof options.log?.info !== 'function') invalid('log', 'must be a Logger');
  return Object.freeze({
    ...options,
    transferIdleMs: options.transferIdleMs ?? CONFIG_DEFAULTS.services.ftp.transferIdleSeconds * 1000,
    tls: options.tls ? Object.freeze({ ...options.tls }) : undefined,
  });
}
