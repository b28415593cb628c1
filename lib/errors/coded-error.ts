/**
 * The one base of every catalogued error: a stable `code` (what callers and protocol edges match
 * on, never the message) and machine-readable `details` (the field at fault, a byte offset, a
 * limit … never a secret).
 */
export class CodedError extends Error {
  readonly code: string;
  /** Extra machine-readable facts (byte offset, field, limit …). Never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CodedError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}
