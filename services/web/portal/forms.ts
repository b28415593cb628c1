import { z } from 'zod';
import { readForm, validate } from '../http/body.js';
import type { WebContext } from '../http/context.js';
import { productCode, version } from '../../../lib/contracts/names.js';
import { idParam } from '../api/fields.js';
import { checkOrigin, checkToken } from './csrf.js';
import { isLocalPath } from './page.js';

/** What the customer (or a link) may put in the portal's forms and URLs; strict, field by field. */

const nextPath = z.string().max(2048).refine(isLocalPath, 'must be a path on this site, such as /downloads (in ASCII: other characters percent-encoded)');
const token = z.string().max(128);

export const signinQuery = z.strictObject({ next: nextPath.optional(), signedOut: z.literal('1').optional() });
export const signinForm = z.strictObject({
  csrf: token,
  login: z.string().trim().min(1, 'enter your login').max(128),
  password: z.string().min(1, 'enter your password').max(1024),
  next: nextPath.optional(),
});
export const csrfOnlyForm = z.strictObject({ csrf: token });
export const stageForm = z.strictObject({ csrf: token, product: productCode, version });
export const eulaAcceptForm = z.strictObject({ csrf: token, next: nextPath.optional() });
export const artifactParams = z.strictObject({ artifactId: idParam });
export const eulaParams = z.strictObject({ id: idParam });
export const downloadsQuery = z.strictObject({ download: idParam.optional() });
export const nextQuery = z.strictObject({ next: nextPath.optional() });

const anyFields = z.record(z.string(), z.string());

/**
 * A POSTed form: the origin check first, then the anti-forgery token against `expected`, and only
 * then the strict validation of its fields. Nothing is changed before all three pass.
 */
export async function readPostedForm<S extends z.ZodType>(
  ctx: WebContext,
  schema: S,
  limit: number,
  expected: string | undefined,
  hint: string,
): Promise<z.output<S>> {
  checkOrigin(ctx);
  const fields = await readForm(ctx, anyFields, limit);
  checkToken(expected, fields.csrf, hint);
  return validate(schema, fields, 'form');
}
