import { join } from 'node:path';
import type { Handler, RequestContext } from '../../lib/commlink/index.js';
import * as FileHost from '../../lib/contracts/file-host/operations.js';
import { FileHostErrors } from '../../lib/contracts/file-host/errors.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';
import type { Operation, ReplyIn, RequestOut } from '../../lib/contracts/operation.js';
import { decodeCursor, everyPage, MAX_PAGE, pageOf } from '../../lib/contracts/page.js';
import { handlersOf, implement, type Implementation } from '../../lib/contracts/serve.js';
import type { WebLink } from './common/web-link.js';
import type { Repository } from './repository/repository.js';
import type { Stager } from './staging/stager.js';

export interface FileHostOpsContext {
  repo: Repository;
  stager: Stager;
  inboxDir: string;
  link: Pick<WebLink, 'ask'>;
  info: () => ReplyIn<typeof FileHost.fileHostInfo>;
  /** Ends a customer's sessions and downloads (FileHostService.endCustomer). */
  endCustomer: (customer: string) => void;
  /** Runs a change of the customer's area apart from the change feed's syncs of it (AreaSync.exclusive). */
  exclusive: <T>(customer: string, task: () => Promise<T>) => Promise<T>;
  /** The live sessions and downloads, in this process and its workers (FileHostService). */
  live: { list(): Promise<FileHost.LiveSession[]>; end(id: string, reason: string): Promise<boolean> };
}

function op<O extends Operation>(
  contract: O,
  run: (input: RequestOut<O>, ctx: FileHostOpsContext, request: RequestContext | undefined) => ReplyIn<O> | Promise<ReplyIn<O>>,
): Implementation<FileHostOpsContext> {
  return implement(contract, run);
}

/** Removes releases the customer may no longer have; `releases` absent: asks the internal-db (through the web host). */
async function pruneTo(ctx: FileHostOpsContext, customer: string, releases: readonly { product: string; version: string }[] | undefined): Promise<string[]> {
  let allowed = releases;
  if (allowed === undefined) {
    const artifacts = await everyPage(async (cursor) => {
      const { artifacts: items, next } = await ctx.link.ask(InternalDb.releaseResolve, { customer, cursor, limit: MAX_PAGE });
      return { items, next };
    });
    // What may stay staged: granted now, and not behind a EULA the customer has not accepted.
    allowed = artifacts.filter((a) => a.eulaAccepted).map((a) => ({ product: a.product, version: a.version }));
  }
  return ctx.stager.prune(customer, allowed);
}

/** The operations the file host serves to the web host over the commlink (lib/contracts/file-host). */
export const FILE_HOST_OPS: readonly Implementation<FileHostOpsContext>[] = [
  op(FileHost.ingest, async (i, ctx, request) => {
    if (!request?.stream) throw FileHostErrors.INVALID_INPUT('ingest: the request carries no bulk stream', { field: 'stream' });
    return { ...(await ctx.repo.ingestStream(request.stream, i)) };
  }),
  op(FileHost.ingestInbox, async (i, ctx) => ({ ...(await ctx.repo.ingestFile(join(ctx.inboxDir, i.name), { sha256: i.sha256, size: i.size })) })),
  op(FileHost.objectStat, async (i, ctx) => {
    const stats = await ctx.repo.statObject(i.objectId);
    return { objectId: i.objectId, size: stats.size, links: stats.nlink, copies: (await ctx.repo.copiesOf(i.objectId)).length };
  }),
  op(FileHost.stage, (i, ctx) =>
    ctx.exclusive(i.customer, async () => {
      const started = performance.now();
      const files = await ctx.stager.stage(i.customer, i.items);
      const pruned = i.entitled === undefined ? [] : await ctx.stager.prune(i.customer, [...i.entitled, ...i.items]);
      return { files: files.map((f) => ({ ...f })), pruned, ms: Math.round((performance.now() - started) * 1000) / 1000 };
    }),
  ),
  op(FileHost.unstage, (i, ctx) => ctx.exclusive(i.customer, async () => ({ removed: await ctx.stager.unstage(i.customer, i.product, i.version) }))),
  op(FileHost.prune, (i, ctx) => ctx.exclusive(i.customer, async () => ({ removed: await pruneTo(ctx, i.customer, i.releases) }))),
  op(FileHost.stagedList, async (i, ctx) => {
    const [path] = i.cursor === undefined ? [''] : decodeCursor(i.cursor, ['string']);
    const files = (await ctx.stager.list(i.customer)).filter((f) => f.path > path).sort((a, b) => (a.path < b.path ? -1 : 1));
    const { items, next } = pageOf(files, i.limit, (f) => [f.path]);
    return { files: items.map((f) => ({ ...f })), next };
  }),
  op(FileHost.customerEnd, (i, ctx) => {
    ctx.endCustomer(i.customer);
    return { ended: true as const };
  }),
  op(FileHost.sessionsList, async (_i, ctx) => ({ sessions: await ctx.live.list() })),
  op(FileHost.sessionEnd, async (i, ctx) => {
    if (!(await ctx.live.end(i.id, i.reason ?? 'Ended by an administrator'))) throw FileHostErrors.NOT_FOUND(`no live session ${i.id} on this file host`);
    return { ended: true as const };
  }),
  op(FileHost.fileHostInfo, (_i, ctx) => ctx.info()),
];

export function makeFileHostHandlers(ctx: FileHostOpsContext): Map<string, Handler> {
  return handlersOf(FILE_HOST_OPS, ctx);
}
