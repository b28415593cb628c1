import { join } from 'node:path';
import { z } from 'zod';
import type { Body, Handler, RequestContext } from '../../lib/commlink/index.js';
import { firstProblem } from '../../lib/validation/input.js';
import { plainName } from './common/areas.js';
import type { WebLink } from './common/web-link.js';
import { FileHostErrors } from './errors.js';
import type { Repository } from './repository/repository.js';
import type { Stager } from './staging/stager.js';

export interface FileHostOpsContext {
  repo: Repository;
  stager: Stager;
  inboxDir: string;
  link: Pick<WebLink, 'request'>;
  info: () => Body;
}

interface FileHostOp {
  readonly name: string;
  readonly summary: string;
  readonly handler: (ctx: FileHostOpsContext) => Handler;
}

function op<S extends z.ZodType>(name: string, summary: string, input: S, run: (input: z.output<S>, ctx: FileHostOpsContext, request: RequestContext) => Promise<Body> | Body): FileHostOp {
  return {
    name,
    summary,
    handler: (ctx) => (body, request) => {
      const parsed = input.safeParse(body);
      if (!parsed.success) {
        const { field, what } = firstProblem(parsed.error);
        throw FileHostErrors.INVALID_INPUT(`${name}: ${what}`, { field });
      }
      return run(parsed.data, ctx, request);
    },
  };
}

const login = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, 'a customer login');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');
const name = z.string().min(1).max(255);
const release = z.strictObject({ product: name, version: name });

/** Removes releases the customer may no longer have; `releases` absent: asks the internal-db (through the web host). */
async function pruneTo(ctx: FileHostOpsContext, customer: string, releases: readonly { product: string; version: string }[] | undefined): Promise<string[]> {
  let allowed = releases;
  if (allowed === undefined) {
    const reply = await ctx.link.request('release.resolve', { customer });
    allowed = (reply.artifacts as { product: string; version: string }[]).map((a) => ({ product: a.product, version: a.version }));
  }
  return ctx.stager.prune(customer, allowed);
}

/** The operations the file host serves to the web host over the commlink. */
export const FILE_HOST_OPS: readonly FileHostOp[] = [
  op(
    'ingest',
    'Stores the bulk stream sent with the request as a repository object (SHA-256 computed as it streams in); optional expected size and SHA-256.',
    z.strictObject({ sha256: sha256.optional(), size: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }),
    async (i, ctx, request) => {
      if (!request.stream) throw FileHostErrors.INVALID_INPUT('ingest: the request carries no bulk stream', { field: 'stream' });
      return { ...(await ctx.repo.ingestStream(request.stream, i)) };
    },
  ),
  op(
    'ingest.inbox',
    'Moves a file from the vendor inbox into the repository (SHA-256 computed in the worker pool); optional expected size and SHA-256.',
    z.strictObject({ name, sha256: sha256.optional(), size: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }),
    async (i, ctx) => ({ ...(await ctx.repo.ingestFile(join(ctx.inboxDir, plainName(i.name, 'name')), { sha256: i.sha256, size: i.size })) }),
  ),
  op('object.stat', 'Size and link count of a repository object.', z.strictObject({ objectId: sha256 }), async (i, ctx) => {
    const stats = await ctx.repo.statObject(i.objectId);
    return { objectId: i.objectId, size: stats.size, links: stats.nlink, copies: (await ctx.repo.copiesOf(i.objectId)).length };
  }),
  op(
    'stage',
    "Hard-links objects into a customer's area (fallbacks reported per file); with `entitled`, also prunes releases not in it.",
    z.strictObject({
      customer: login,
      items: z.array(z.strictObject({ objectId: sha256, product: name, version: name, filename: name })).min(1).max(10_000),
      entitled: z.array(release).max(100_000).optional(),
    }),
    async (i, ctx) => {
      const started = performance.now();
      const files = await ctx.stager.stage(i.customer, i.items);
      const pruned = i.entitled === undefined ? [] : await ctx.stager.prune(i.customer, [...i.entitled, ...i.items]);
      return { files: files.map((f) => ({ ...f })), pruned, ms: Math.round((performance.now() - started) * 1000) / 1000 };
    },
  ),
  op('unstage', "Removes a release (or all of a product's) from a customer's area.", z.strictObject({ customer: login, product: name, version: name.optional() }), async (i, ctx) => ({
    removed: await ctx.stager.unstage(i.customer, i.product, i.version),
  })),
  op(
    'prune',
    "Removes what a customer is no longer entitled to: `releases` is what it may keep; without it the file host asks the internal-db.",
    z.strictObject({ customer: login, releases: z.array(release).max(100_000).optional() }),
    async (i, ctx) => ({ removed: await pruneTo(ctx, i.customer, i.releases) }),
  ),
  op('staged.list', "The files in a customer's area.", z.strictObject({ customer: login }), async (i, ctx) => ({
    files: (await ctx.stager.list(i.customer)).map((f) => ({ ...f })),
  })),
  op('filehost.info', 'Name, download URL and repository size of this file host.', z.strictObject({}), (_i, ctx) => ctx.info()),
];

export function makeFileHostHandlers(ctx: FileHostOpsContext): Map<string, Handler> {
  return new Map(FILE_HOST_OPS.map((o) => [o.name, o.handler(ctx)]));
}
