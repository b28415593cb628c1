import { z } from 'zod';
import type { Body, RequestContext } from '../../../lib/commlink/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import { firstProblem } from '../../../lib/validation/input.js';
import { DbErrors } from '../errors.js';
import type { Store } from '../store/index.js';

/** Where an operation runs: the store, the service's logger, and the commlink request. */
export interface OpContext {
  store: Store;
  request: RequestContext | undefined;
  log: Logger;
  backup?: (path: string | undefined) => Promise<Body>;
}

export interface Operation {
  readonly name: string;
  readonly summary: string;
  run(body: Body, ctx: OpContext): Promise<Body> | Body;
}

/**
 * Defines a named operation: the body is validated against `input` (a strict zod object, so an
 * unknown field is refused), and a bad field is answered ERR_INVALID_INPUT naming it. Nothing is
 * read or written before the input is valid.
 */
export function defineOp<S extends z.ZodType>(name: string, summary: string, input: S, run: (input: z.output<S>, ctx: OpContext) => Promise<Body> | Body): Operation {
  return {
    name,
    summary,
    run(body, ctx) {
      const parsed = input.safeParse(body);
      if (!parsed.success) {
        const { field, what } = firstProblem(parsed.error);
        throw DbErrors.INVALID_INPUT(`${name}: ${what}`, { field });
      }
      return run(parsed.data, ctx);
    },
  };
}

// Shared field schemas.
export const login = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, 'a login is 2-64 of a-z 0-9 . _ -, starting with a letter or digit');
export const code = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a product code is 1-64 of a-z 0-9 . _ -');
export const text = (max: number) => z.string().min(1).max(max).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed');
export const version = z.string().min(1).max(256);
export const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
export const id = z.int().min(1);
export const protocol = z.enum(['http', 'ftp', 'sftp']);
export const password = z.string().min(1).max(1024);
