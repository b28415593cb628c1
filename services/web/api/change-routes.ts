import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { WebErrors } from '../errors.js';
import { ok, route, type ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { pageQuery } from './fields.js';

/** GET /changes: the change log (who did what, when, from where), for admins and, of their own products, vendors. */
export function changeRoutes(deps: ApiDeps): ApiRoute[] {
  const { db } = deps;
  return [
    route({
      method: 'get',
      path: '/changes',
      summary:
        'The change log, newest first: every change with who made it (an API token by its id, an admin, a customer in the portal, the system), ' +
        'from which address, and when. Filters: customer, vendor, kind. A vendor token sees its own vendor’s changes only.',
      tag: 'admin',
      roles: ['admin', 'vendor'],
      query: InternalDb.changesList.request.extend(pageQuery),
      responses: { 200: { description: 'The changes, newest first.', body: InternalDb.changesList.reply } },
      handler: async ({ principal, query }) => {
        if (principal.kind === 'vendor') {
          if (query.vendor !== undefined && query.vendor !== principal.vendor)
            throw WebErrors.FORBIDDEN(`a vendor token sees ${principal.vendor}'s changes only`, { field: 'vendor' });
          return ok(await db.ask(InternalDb.changesList, { ...query, vendor: principal.vendor }));
        }
        return ok(await db.ask(InternalDb.changesList, query));
      },
    }),
  ];
}
