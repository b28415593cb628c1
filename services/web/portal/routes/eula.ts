import { eulaAccept, eulaGet } from '../../../../lib/contracts/internal-db/index.js';
import { customerActor } from '../../auth/actor.js';
import { readQuery, validate } from '../../http/body.js';
import type { WebRouter } from '../../http/context.js';
import { eulaAcceptForm, eulaParams, nextQuery, readPostedForm } from '../forms.js';
import type { PortalKit } from '../kit.js';
import { afterForm, portalRoute, seeOther, sendPage, signinUrlFor } from '../page.js';
import { eulaPage } from '../pages/eula.js';
import { signedIn } from '../viewer.js';

/** GET /eula/:id (the text and the accept form), POST /eula/:id/accept (recorded, then onwards). */
export function eulaRoutes(router: WebRouter, kit: PortalKit): void {
  const { deps, sessions } = kit;

  router.get(
    '/eula/:id',
    portalRoute('/eula/:id', async (ctx) => {
      const me = await signedIn(ctx, sessions, deps.sessionChecks, deps.metrics);
      if (!me) return seeOther(ctx, signinUrlFor(ctx));
      const { id } = validate(eulaParams, { ...ctx.params }, 'path');
      const { next } = readQuery(ctx, nextQuery);
      const [eula, artifacts] = await Promise.all([deps.db.ask(eulaGet, { id }), deps.fulfillment.entitledArtifacts(me.viewer.login)]);
      const accepted = artifacts.some((a) => a.eulaId === id && a.eulaAccepted);
      sendPage(ctx, eulaPage({ viewer: me.viewer, eula, accepted, next: next ?? '/downloads' }));
    }),
  );

  router.post(
    '/eula/:id/accept',
    portalRoute('/eula/:id/accept', async (ctx) => {
      const me = await signedIn(ctx, sessions, deps.sessionChecks, deps.metrics);
      if (!me) return seeOther(ctx, '/signin?next=%2Fdownloads');
      const { id } = validate(eulaParams, { ...ctx.params }, 'path');
      const form = await readPostedForm(ctx, eulaAcceptForm, deps.maxFormBytes, me.session.csrf, 'license agreement');
      await deps.db.ask(eulaAccept, { customer: me.viewer.login, eula: id, by: customerActor(me.viewer.login, ctx) });
      deps.fulfillment.entitlements.forgetCustomer(me.viewer.login); // seen at once here (elsewhere: the feed)
      ctx.state.log.info('portal EULA accepted', { customer: me.viewer.login, eula: id });
      seeOther(ctx, afterForm(form.next ?? '/downloads'));
    }),
  );
}
