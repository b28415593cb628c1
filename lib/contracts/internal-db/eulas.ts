import { actorField } from './changes.js';
import { z } from 'zod';
import { defineOperation } from '../operation.js';
import { pageReply, pageRequest } from '../page.js';
import { id, isoTime, login, text } from '../names.js';

export const eulaCreate = defineOperation({
  name: 'eula.create',
  summary: 'Stores a EULA text.',
  request: z.strictObject({ ...actorField, title: text(256), body: z.string().min(1).max(1_000_000) }),
  reply: z.strictObject({ id, title: z.string() }),
});

export const eulaGet = defineOperation({
  name: 'eula.get',
  summary: 'A EULA text.',
  request: z.strictObject({ id }),
  reply: z.strictObject({ id, title: z.string(), body: z.string(), createdAt: isoTime }),
});

export const eulaList = defineOperation({
  name: 'eula.list',
  summary: 'Lists EULAs, oldest first, a page at a time.',
  request: z.strictObject({ ...pageRequest }),
  reply: pageReply('eulas', z.strictObject({ id, title: z.string(), createdAt: isoTime })),
});

export const eulaAccept = defineOperation({
  name: 'eula.accept',
  summary: "Records a customer's acceptance of a EULA (once; accepting again keeps the first time).",
  request: z.strictObject({ ...actorField, customer: login, eula: id }),
  reply: z.strictObject({ eula: id, acceptedAt: isoTime }),
});
