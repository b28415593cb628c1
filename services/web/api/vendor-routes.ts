import { z } from 'zod';
import { isError, RemoteError } from '../../../lib/commlink/index.js';
import { WebErrors } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import { created, ok, route, type ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { channel, filename, label, productCode, sha256, text, version } from './fields.js';
import { uploadStream } from './upload.js';

interface ReleaseInfo {
  version: string;
  status: string;
  artifacts: { filename: string }[];
}

const productParams = z.strictObject({ product: productCode });
const releaseParams = z.strictObject({ product: productCode, version });

export function vendorRoutes(deps: ApiDeps): ApiRoute[] {
  const { db, fulfillment, metrics } = deps;

  /** A vendor acts on its own products only; an admin on any. */
  async function ownProduct(principal: Principal, product: string): Promise<void> {
    if (principal.kind === 'admin') return;
    if (principal.kind !== 'vendor') throw WebErrors.FORBIDDEN('this needs a vendor or admin token');
    const { products } = (await db.request('product.list', { vendor: principal.vendor })) as { products: { code: string }[] };
    if (!products.some((p) => p.code === product)) throw WebErrors.FORBIDDEN(`product ${product} is not one of ${principal.vendor}'s`, { field: 'product' });
  }

  async function release(product: string, wanted: string): Promise<ReleaseInfo> {
    const { releases } = (await db.request('release.list', { product })) as unknown as { releases: ReleaseInfo[] };
    const found = releases.find((r) => r.version === wanted);
    if (!found) throw new RemoteError('ERR_NOT_FOUND', `no release ${product} ${wanted}`, { field: 'version' });
    return found;
  }

  return [
    route({
      method: 'get',
      path: '/products',
      summary: "Your products (a vendor's own; every product for an admin).",
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      responses: { 200: 'The products.' },
      handler: async ({ principal }) => ok(await db.request('product.list', principal.kind === 'vendor' ? { vendor: principal.vendor } : {})),
    }),
    route({
      method: 'post',
      path: '/products',
      summary: 'Creates a product (optionally behind a EULA). An admin names the vendor.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      body: z.strictObject({ code: productCode, name: text(256), eula: z.int().min(1).optional(), vendor: text(128).optional() }),
      responses: { 201: 'Created.' },
      handler: async ({ principal, body }) => {
        let vendor = body.vendor;
        if (principal.kind === 'vendor') {
          if (vendor !== undefined && vendor !== principal.vendor) throw WebErrors.FORBIDDEN('a vendor token creates products for its own vendor only', { field: 'body.vendor' });
          vendor = principal.vendor;
        } else if (vendor === undefined) throw WebErrors.INVALID_INPUT('body.vendor: an admin names the vendor', { field: 'body.vendor' });
        const { vendor: _v, ...rest } = body;
        return created(await db.request('product.create', { ...rest, vendor }));
      },
    }),
    route({
      method: 'get',
      path: '/products/:product/releases',
      summary: 'The releases of a product, with their artifacts.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: productParams,
      responses: { 200: 'The releases.' },
      handler: async ({ principal, params }) => {
        await ownProduct(principal, params.product);
        return ok(await db.request('release.list', { product: params.product }));
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
      responses: { 201: 'Created (draft).' },
      handler: async ({ principal, params, body }) => {
        await ownProduct(principal, params.product);
        return created(await db.request('release.create', { product: params.product, ...body }));
      },
    }),
    route({
      method: 'put',
      path: '/products/:product/releases/:version/artifacts/:filename',
      summary:
        'Uploads an artifact to a draft release: the body is the file, streamed to a file host (never buffered whole), hashed there and stored by its SHA-256. Give Content-Length; X-Checksum-SHA256 (hex) is checked when given.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: z.strictObject({ product: productCode, version, filename }),
      query: z.strictObject({ platform: label.default('any'), arch: label.default('any') }),
      body: 'binary',
      responses: { 201: 'Stored and added: the artifact with its size and SHA-256.' },
      handler: async ({ principal, params, query, ctx }) => {
        await ownProduct(principal, params.product);
        const draft = await release(params.product, params.version);
        if (draft.status !== 'draft') throw new RemoteError('ERR_STATE', `${params.product} ${params.version} is ${draft.status}; artifacts are added to drafts only`);
        if (draft.artifacts.some((a) => a.filename === params.filename)) throw new RemoteError('ERR_CONFLICT', `${params.product} ${params.version} has a file "${params.filename}"`, { field: 'filename' });
        const checksum = ctx.get('x-checksum-sha256').toLowerCase();
        if (checksum !== '' && !sha256.safeParse(checksum).success) throw WebErrors.INVALID_INPUT('X-Checksum-SHA256 must be 64 hex digits', { field: 'x-checksum-sha256' });
        const upload = uploadStream(ctx, deps.maxUploadBytes);
        let stored;
        try {
          stored = await fulfillment.ingest(upload.source, { ...(checksum ? { sha256: checksum } : {}), ...(upload.declared !== undefined ? { size: upload.declared } : {}) });
        } catch (err) {
          // A file host that died or froze mid-upload (its link closed or timed out) stops the relay too:
          // that is ours to answer (503, try again), not a cut-off upload. A relay stopped because the
          // client went away is ERR_STREAM_ABORTED, and a cut-off upload below.
          if (isError(err, WebErrors.GATEWAY_UNAVAILABLE) && err.details.cause !== 'ERR_STREAM_ABORTED') throw err;
          const cut = upload.failure();
          if (cut && (cut as { code?: string }).code === 'ERR_BODY_TOO_LARGE') throw cut;
          if (cut) throw WebErrors.UPLOAD_INCOMPLETE(`the upload was cut off after ${upload.bytes()} bytes; nothing was stored`);
          throw err;
        } finally {
          metrics.upload(upload.bytes());
        }
        const objectId = stored.objectId as string;
        const size = stored.size as number;
        const artifact = await db.request('artifact.add', { product: params.product, version: params.version, filename: params.filename, size, sha256: objectId, objectId, platform: query.platform, arch: query.arch });
        deps.log.info('artifact uploaded', { product: params.product, version: params.version, filename: params.filename, size, sha256: objectId, principal: principal.label });
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
      responses: { 200: 'Published.' },
      handler: async ({ principal, params }) => {
        await ownProduct(principal, params.product);
        return ok(await db.request('release.publish', params));
      },
    }),
    route({
      method: 'post',
      path: '/products/:product/releases/:version/yank',
      summary: 'Withdraws a published release: no new links are given for it, and it leaves customer areas at their next staging or login.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: releaseParams,
      responses: { 200: 'Yanked.' },
      handler: async ({ principal, params }) => {
        await ownProduct(principal, params.product);
        const reply = await db.request('release.yank', params);
        fulfillment.forgetStagings();
        return ok(reply);
      },
    }),
    route({
      method: 'put',
      path: '/products/:product/eula',
      summary: 'Puts a product behind a EULA (customers must accept it before downloading), or removes it with null.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      params: productParams,
      body: z.strictObject({ eula: z.int().min(1).nullable() }),
      responses: { 200: 'Set.' },
      handler: async ({ principal, params, body }) => {
        await ownProduct(principal, params.product);
        const reply = await db.request('product.setEula', { product: params.product, eula: body.eula });
        fulfillment.forgetStagings();
        return ok(reply);
      },
    }),
    route({
      method: 'post',
      path: '/eulas',
      summary: 'Stores a EULA text (then put a product behind it).',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      body: z.strictObject({ title: text(256), body: z.string().min(1).max(1_000_000) }),
      responses: { 201: 'Stored: its id.' },
      handler: async ({ body }) => created(await db.request('eula.create', body)),
    }),
    route({
      method: 'get',
      path: '/eulas',
      summary: 'Lists EULAs.',
      tag: 'vendor',
      roles: ['vendor', 'admin'],
      responses: { 200: 'The EULAs (titles).' },
      handler: async () => ok(await db.request('eula.list', {})),
    }),
  ];
}
