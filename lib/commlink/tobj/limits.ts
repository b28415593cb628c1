export interface TobjLimits {
  /** Nesting levels; a top-level element is depth 1. */
  maxDepth: number;
  /** Input size in UTF-8 bytes. */
  maxBytes: number;
  maxNameLength: number;
  maxAttributes: number;
  /** Elements in the whole input. */
  maxElements: number;
}

export const DEFAULT_LIMITS: Readonly<TobjLimits> = Object.freeze({
  maxDepth: 32,
  maxBytes: 1024 * 1024,
  maxNameLength: 64,
  maxAttributes: 16,
  maxElements: 100_000,
});
