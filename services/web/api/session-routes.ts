import { z } from 'zod';
import * as FileHost from '../../../lib/contracts/file-host/operations.js';
import { hostName } from '../../../lib/contracts/names.js';
import { codeOf } from '../../../lib/errors/index.js';
import { WebErrors } from '../errors.js';
import { ok, route, type ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';

/** How long a file host has to list its sessions before it is reported unavailable (the others are listed all the same). */
const LIST_TIMEOUT_MS = 2000;

/** A session id across file hosts: `<file host>:<its own id>` (host names hold no colon). */
const sessionId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{0,62}:[a-z0-9-]{1,64}$/, 'a session id is <file host>:<id>, as GET /sessions lists it')
  .describe('`<file host>:<its own id>`, stable while the session lasts.');

const sessionsReply = z.strictObject({
  sessions: z.array(FileHost.liveSession.extend({ id: sessionId, host: hostName })),
  unavailable: z
    .array(z.strictObject({ host: hostName, code: z.string() }))
    .describe('Connected file hosts that did not answer within 2 s (or failed): their sessions are not in the list.'),
});

/** Live sessions across the connected file hosts: list them, end one (admin). */
export function sessionRoutes(deps: ApiDeps): ApiRoute[] {
  const { fileHosts, log } = deps;
  const admin = ['admin'] as const;
  return [
    route({
      method: 'get',
      path: '/sessions',
      summary:
        'Every live FTP and SFTP session and HTTP download on the connected file hosts: customer, protocol, client address, file, ' +
        'bytes so far, current rate (bytes/s over the last few seconds), start and elapsed time. A file host that does not answer within 2 s is ' +
        'listed under `unavailable`.',
      tag: 'admin',
      roles: admin,
      responses: { 200: { description: 'The sessions, by file host.', body: sessionsReply } },
      handler: async () => {
        const hosts = fileHosts.list().filter((h) => !h.peer.closed);
        type Answer = { host: string; sessions: FileHost.LiveSession[]; code?: undefined } | { host: string; sessions?: undefined; code: string };
        const answers = await Promise.all(
          hosts.map(async (host): Promise<Answer> => {
            try {
              const { sessions } = await fileHosts.ask(host, FileHost.sessionsList, {}, { timeoutMs: LIST_TIMEOUT_MS });
              return { host: host.name, sessions };
            } catch (err) {
              log.warn('a file host did not list its sessions', { host: host.name, err });
              return { host: host.name, code: codeOf(err) ?? WebErrors.INTERNAL.code };
            }
          }),
        );
        const sessions = answers.flatMap((a) => a.sessions?.map((s) => ({ ...s, id: `${a.host}:${s.id}`, host: a.host })) ?? []);
        sessions.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
        return ok({ sessions, unavailable: answers.flatMap((a) => (a.code === undefined ? [] : [{ host: a.host, code: a.code }])) });
      },
    }),
    route({
      method: 'delete',
      path: '/sessions/:id',
      summary:
        'Ends a live session now: FTP 421 and close, SSH disconnect (by application) with the reason, HTTP download cut off; ' +
        'its transfer is audited as aborted. 404: no such session; 503: its file host is not connected.',
      tag: 'admin',
      roles: admin,
      params: z.strictObject({ id: z.string().max(200).describe('`<file host>:<id>`, as GET /sessions lists it.') }),
      query: z.strictObject({ reason: FileHost.sessionEnd.request.shape.reason }),
      responses: { 200: { description: 'Ended.', body: z.strictObject({ ended: z.literal(true), id: sessionId }) } },
      handler: async ({ params, query }) => {
        if (!sessionId.safeParse(params.id).success)
          throw WebErrors.NOT_FOUND(`no live session ${params.id}: ids are <file host>:<id>, as GET /sessions lists them`);
        const colon = params.id.indexOf(':');
        const host = fileHosts.pick(params.id.slice(0, colon));
        await fileHosts.ask(host, FileHost.sessionEnd, { id: params.id.slice(colon + 1), reason: query.reason }, { timeoutMs: 10_000 });
        log.info('live session ended by an administrator', { session: params.id, reason: query.reason });
        return ok({ ended: true, id: params.id });
      },
    }),
  ];
}
