import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { codeOf, type CodeOf } from '../../../lib/errors/index.js';

export type FileHostErrorCode = CodeOf<typeof FileHostErrors>;

/** What the download edge answers for an error: its status, and whether the error is the server's to look into (logged whole, answered generically). */
export interface HttpAnswer {
  readonly status: number;
  readonly internal?: boolean;
}

/**
 * The HTTP edge's translation of the file host's error codes: every code has its answer (the
 * compiler checks it). A path that is refused is answered like one that does not exist, so probing
 * learns nothing.
 */
export const HTTP_ANSWERS: Readonly<Record<FileHostErrorCode, HttpAnswer>> = Object.freeze({
  [FileHostErrors.INVALID_INPUT.code]: { status: 400 },
  [FileHostErrors.NOT_FOUND.code]: { status: 404 },
  [FileHostErrors.PATH_REFUSED.code]: { status: 404 },
  [FileHostErrors.TICKET_INVALID.code]: { status: 403 },
  [FileHostErrors.TICKET_SUPERSEDED.code]: { status: 403 },
  [FileHostErrors.RELEASE_WITHDRAWN.code]: { status: 410 },
  [FileHostErrors.AUTH_REFUSED.code]: { status: 403 },
  [FileHostErrors.BANNED.code]: { status: 403 },
  [FileHostErrors.READ_ONLY.code]: { status: 405 },
  [FileHostErrors.TOO_MANY_SESSIONS.code]: { status: 503 },
  [FileHostErrors.GATEWAY_UNAVAILABLE.code]: { status: 503 },
  [FileHostErrors.OBJECT_MISMATCH.code]: { status: 500, internal: true },
  [FileHostErrors.STAGING_FAILED.code]: { status: 500, internal: true },
  [FileHostErrors.CROSS_DEVICE.code]: { status: 500, internal: true },
  [FileHostErrors.INTERNAL.code]: { status: 500, internal: true },
});

const UNKNOWN: HttpAnswer = Object.freeze({ status: 500, internal: true });

/** The answer for an error; anything uncatalogued is internal. */
export function httpAnswerOf(err: unknown): HttpAnswer {
  const code = codeOf(err);
  return (code !== undefined && (HTTP_ANSWERS as Readonly<Record<string, HttpAnswer>>)[code]) || UNKNOWN;
}
