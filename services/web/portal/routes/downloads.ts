import { readQuery, validate } from '../../http/body.js';
import type { WebContext, WebRouter } from '../../http/context.js';
import { artifactParams, downloadsQuery, readPostedForm, stageForm } from '../forms.js';
import type { PortalKit } from '../kit.js';
import { portalRoute, seeOther, sendPage, signinUrlFor } from '../page.js';
import { downloadsPage, releaseAnchor } from '../pages/downloads.js';
import { stagePage } from '../pages/stage.js';
import { signedIn } from '../viewer.js';
import * as InternalDb from '../../../../lib/contracts/internal-db/index.js';
import { everyPage, MAX_PAGE } from '../../../../lib/contracts/page.js';
import { isError } from '../../../../lib/errors/index.js';
import { WebErrors } from '../../errors.js';

/** The EULA page to send the customer to when `err` says the release's EULA is not accepted yet. */
export function eulaDetour(err: unknown, next: string): string | undefined {
  if (!isError(err, WebErrors.EULA_REQUIRED) || typeof err.details.eulaId !== 'number') return undefined;
  return `/eula/${err.details.eulaId}?next=${encodeURIComponent(next)}`;
}

/** GET /downloads, GET /download/:artifactId (303 to the file host), POST /stage. */
export function downloadRoutes(router: WebRouter, kit: PortalKit): void {
  const { deps, sessions } = kit;
  const who = (ctx: WebContext) => signedIn(ctx, sessions, deps.sessionChecks, deps.metrics);

  router.get(
    '/downloads',
    portalRoute('/downloads', async (ctx) => {
      const me = await who(ctx);
      if (!me) return seeOther(ctx, signinUrlFor(ctx));
      const customer = me.viewer.login;
      const { download } = readQuery(ctx, downloadsQuery);
      const [artifacts, entitlements] = await Promise.all([
        deps.fulfillment.entitledArtifacts(customer),
        everyPage(async (cursor) => {
          const { entitlements: items, next } = await deps.db.ask(InternalDb.entitlementsList, { customer, cursor, limit: MAX_PAGE });
          return { items, next };
        }),
      ]);
      // The names of the products the customer holds entitlements to (a customer has few).
      const codes = [...new Set(entitlements.map((e) => e.product))];
      const products = await Promise.all(codes.map((code) => deps.db.ask(InternalDb.productList, { code })));
      const productNames = new Map(products.flatMap((p) => p.products).map((p) => [p.code, p.name]));
      const starting = artifacts.find((a) => a.artifactId === download);
      sendPage(ctx, downloadsPage({ viewer: me.viewer, artifacts, entitlements, productNames, starting }));
    }),
  );

  router.get(
    '/download/:artifactId',
    portalRoute('/download/:artifactId', async (ctx) => {
      const me = await who(ctx);
      if (!me) return seeOther(ctx, signinUrlFor(ctx));
      const { artifactId } = validate(artifactParams, { ...ctx.params }, 'path');
      try {
        const link = await deps.fulfillment.link(me.viewer.login, artifactId);
        ctx.state.log.info('portal download', { customer: me.viewer.login, artifactId, host: link.host });
        seeOther(ctx, link.url);
      } catch (err) {
        const detour = eulaDetour(err, ctx.originalUrl);
        if (!detour) throw err;
        seeOther(ctx, detour);
      }
    }),
  );

  router.post(
    '/stage',
    portalRoute('/stage', async (ctx) => {
      const me = await who(ctx);
      if (!me) return seeOther(ctx, '/signin?next=%2Fdownloads');
      const form = await readPostedForm(ctx, stageForm, deps.maxFormBytes, me.session.csrf, 'Use FTP/SFTP');
      try {
        const staged = await deps.fulfillment.stage(me.viewer.login, form.product, form.version);
        sendPage(ctx, stagePage(me.viewer, staged));
      } catch (err) {
        const detour = eulaDetour(err, `/downloads#${releaseAnchor(form.product, form.version)}`);
        if (!detour) throw err;
        seeOther(ctx, detour);
      }
    }),
  );
}
