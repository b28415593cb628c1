import { z } from 'zod';
import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { channel, fileName, label, productCode, version } from '../../../lib/contracts/names.js';
import type { ReplyOut } from '../../../lib/contracts/operation.js';
import { Errors as CommlinkErrors } from '../../../lib/commlink/index.js';
import { isError } from '../../../lib/errors/index.js';
import { WebErrors } from '../errors.js';
import { actorOf } from '../auth/actor.js';
import type { Principal } from '../auth/principal.js';
import { created, ok, route, type ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { pageQuery } from './fields.js';
import { uploadStream } from './upload.js';

type ReleaseInfo = ReplyOut<typeof InternalDb.releaseList>['releases'][number];

const productParams = z.strictObject({ product: productCode });
const releaseParams = z.strictObject({ product: productCode, version });
/** A SHA-256 in hex, either case: the upload's checksum header. */
const checksumHeader = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the body: 64 hex digits')
  .transform((s) => s.toLowerCase());

export function vendorRoutes(deps: ApiDeps): ApiRoute[] {
  const { db, fulfillment, metrics } = deps;

  /** A vendor acts on its own products only; an admin on any. */
  async function ownProduct(principal: Principal, product: string): Promise<void> {
    if (principal.kind === 'admin') return;
    if (principal.kind !== 'vendor') throw WebErrors.FORBIDDEN('this needs a vendor or admin token');
    const { products } = await db.ask(InternalDb.productList, { vendor: principal.vendor, code: product });
    if (products.length === 0) throw WebErrors.FORBIDDEN(`product ${product} is not one of ${principal.vendor}'s`, { field: 'product' });
  }

  async function release(product: string, wanted: string): Promise<ReleaseInfo> {
    const { releases } = await db.ask(InternalDb.releaseList, { product, version: wanted });
    const found = releases[0];
    if (!found) throw WebErrors.NOT_FOUND(`no release ${product} ${wanted}`, { field: 'version' });
    return found;
  }

  return [
    route({
      method: 'get',
      path: '/products',
      summary: "Your products (a vendor's own; every product for an admin).",
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      responses: { 200: { description: 'The products.', body: InternalDb.productList.reply } },
      query: z.strictObject(pageQuery),
      handler: async ({ principal, query }) =>
        ok(await db.ask(InternalDb.productList, principal.kind === 'vendor' ? { vendor: principal.vendor, ...query } : query)),
    }),
    route({
      method: 'post',
      path: '/products',
      summary: 'Creates a product (optionally behind a EULA). An admin names the vendor.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      body: InternalDb.productCreate.request.omit({ by: true }).partial({ vendor: true }),
      responses: { 201: { description: 'Created.', body: InternalDb.productCreate.reply } },
      handler: async ({ principal, body, ctx }) => {
        let vendor = body.vendor;
        if (principal.kind === 'vendor') {
          if (vendor !== undefined && vendor !== principal.vendor)
            throw WebErrors.FORBIDDEN('a vendor token creates products for its own vendor only', { field: 'body.vendor' });
          vendor = principal.vendor;
        } else if (vendor === undefined) throw WebErrors.INVALID_INPUT('body.vendor: an admin names the vendor', { field: 'body.vendor' });
        const { vendor: _v, ...rest } = body;
        return created(await db.ask(InternalDb.productCreate, { ...rest, vendor, by: actorOf(principal, ctx) }));
      },
    }),
    route({
      method: 'get',
      path: '/products/:product/releases',
      summary: 'The releases of a product, with their artifacts.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: productParams,
      responses: { 200: { description: 'The releases.', body: InternalDb.releaseList.reply } },
      query: z.strictObject(pageQuery),
      handler: async ({ principal, params, query }) => {
        await ownProduct(principal, params.product);
        return ok(await db.ask(InternalDb.releaseList, { product: params.product, ...query }));
      },
    }),
    route({
      method: 'post',
      path: '/products/:product/releases',
      summary: 'Creates a draft release.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: productParams,
      body: z.strictObject({ version, channel: channel.default('stable') }),
      responses: { 201: { description: 'Created (draft).', body: InternalDb.releaseCreate.reply } },
      handler: async ({ principal, params, body, ctx }) => {
        await ownProduct(principal, params.product);
        return created(await db.ask(InternalDb.releaseCreate, { product: params.product, ...body, by: actorOf(principal, ctx) }));
      },
    }),
    route({
      method: 'put',
      path: '/products/:product/releases/:version/artifacts/:filename',
      summary:
        'Uploads an artifact to a draft release: the body is the file, streamed to a file host (never buffered whole), ' +
        'hashed there and stored by its SHA-256. Give Content-Length; X-Checksum-SHA256 (hex) is checked when given.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: z.strictObject({ product: productCode, version, filename: fileName }),
      query: z.strictObject({ platform: label.default('any'), arch: label.default('any') }),
      headers: z.object({
        'x-checksum-sha256': checksumHeader
          .optional()
          .describe('The SHA-256 of the body (hex): the upload is refused, and nothing stored, when the bytes differ.'),
      }),
      body: 'binary',
      responses: { 201: { description: 'Stored and added: the artifact with its size and SHA-256.', body: InternalDb.artifactAdd.reply } },
      handler: async ({ principal, params, query, headers, ctx }) => {
        await ownProduct(principal, params.product);
        const draft = await release(params.product, params.version);
        if (draft.status !== 'draft')
          throw InternalDb.InternalDbErrors.STATE(`${params.product} ${params.version} is ${draft.status}; artifacts are added to drafts only`);
        if (draft.artifacts.some((a) => a.filename === params.filename))
          throw WebErrors.CONFLICT(`${params.product} ${params.version} has a file "${params.filename}"`, { field: 'filename' });
        const checksum = headers['x-checksum-sha256'];
        const upload = uploadStream(ctx, deps.maxUploadBytes);
        let stored;
        try {
          stored = await fulfillment.ingest(upload.source, { sha256: checksum, size: upload.declared });
        } catch (err) {
          // A file host that died or froze mid-upload (its link closed or timed out) stops the relay:
          // that is ours to answer (503, try again). A relay stopped by the client (it sent too much,
          // or went away) is the client's: too large, or cut off.
          if (isError(err, WebErrors.GATEWAY_UNAVAILABLE)) throw err;
          const cut = upload.failure();
          if (isError(cut, WebErrors.BODY_TOO_LARGE)) throw cut;
          if (cut) throw WebErrors.UPLOAD_INCOMPLETE(`the upload was cut off after ${upload.bytes()} bytes; nothing was stored`);
          if (isError(err, CommlinkErrors.STREAM_ABORTED))
            throw WebErrors.GATEWAY_UNAVAILABLE(`the relay of the upload to the file host broke: ${err.message}`, { cause: err.code });
          throw err;
        } finally {
          metrics.upload(upload.bytes());
        }
        const { objectId, size } = stored;
        const artifact = await db.ask(InternalDb.artifactAdd, {
          product: params.product,
          version: params.version,
          filename: params.filename,
          size,
          sha256: objectId,
          objectId,
          platform: query.platform,
          arch: query.arch,
          by: actorOf(principal, ctx),
        });
        deps.log.info('artifact uploaded', {
          product: params.product,
          version: params.version,
          filename: params.filename,
          size,
          sha256: objectId,
          principal: principal.label,
        });
        return created(artifact);
      },
    }),
    route({
      method: 'post',
      path: '/products/:product/releases/:version/publish',
      summary: 'Publishes a draft release that has artifacts: entitled customers see it at once.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: releaseParams,
      responses: { 200: { description: 'Published.', body: InternalDb.releasePublish.reply } },
      handler: async ({ principal, params, ctx }) => {
        await ownProduct(principal, params.product);
        const published = await db.ask(InternalDb.releasePublish, { ...params, by: actorOf(principal, ctx) });
        fulfillment.entitlements.clear(); // seen at once through this web host (elsewhere: the feed)
        return ok(published);
      },
    }),
    route({
      method: 'post',
      path: '/products/:product/releases/:version/yank',
      summary:
        'Withdraws a published release: no new links are given for it, and it leaves every customer area on every connected file host before ' +
        'this answers (links handed out before find nothing to download).',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: releaseParams,
      responses: { 200: { description: 'Yanked.', body: InternalDb.releaseYank.reply } },
      handler: async ({ principal, params, ctx }) => {
        await ownProduct(principal, params.product);
        const reply = await db.ask(InternalDb.releaseYank, { ...params, by: actorOf(principal, ctx) });
        await fulfillment.withdraw(params.product, params.version);
        return ok(reply);
      },
    }),
    route({
      method: 'put',
      path: '/products/:product/eula',
      summary:
        'Puts a product behind a EULA (customers must accept it before downloading; what is staged for those who have not leaves their areas ' +
        'before this answers), or removes it with null.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: productParams,
      body: InternalDb.productSetEula.request.pick({ eula: true }),
      responses: { 200: { description: 'Set.', body: InternalDb.productSetEula.reply } },
      handler: async ({ principal, params, body, ctx }) => {
        await ownProduct(principal, params.product);
        const reply = await db.ask(InternalDb.productSetEula, { product: params.product, eula: body.eula, by: actorOf(principal, ctx) });
        if (body.eula === null) fulfillment.forgetStagings();
        else await fulfillment.withdraw(params.product);
        return ok(reply);
      },
    }),
    route({
      method: 'post',
      path: '/eulas',
      summary: 'Stores a EULA text (then put a product behind it).',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      body: InternalDb.eulaCreate.request.omit({ by: true }),
      responses: { 201: { description: 'Stored: its id.', body: InternalDb.eulaCreate.reply } },
      handler: async ({ body, principal, ctx }) => created(await db.ask(InternalDb.eulaCreate, { ...body, by: actorOf(principal, ctx) })),
    }),
    route({
      method: 'get',
      path: '/eulas',
      summary: 'Lists EULAs.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      responses: { 200: { description: 'The EULAs (titles).', body: InternalDb.eulaList.reply } },
      query: z.strictObject(pageQuery),
      handler: async ({ query }) => ok(await db.ask(InternalDb.eulaList, query)),
    }),
  ];
}
