import { z } from 'zod';
import { defineOperation } from '../operation.js';

export const adminBackup = defineOperation({
  name: 'admin.backup',
  summary: 'Writes an online backup of the database (to the backup directory, named `name` or after the time).',
  request: z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, '1-128 of A-Z a-z 0-9 . _ -')
      .refine((n) => n !== '.' && n !== '..', 'not . or ..')
      .optional(),
  }),
  reply: z.strictObject({ path: z.string(), pages: z.int().min(0), ms: z.number().min(0) }),
});

export const dbInfo = defineOperation({
  name: 'db.info',
  summary: 'Schema version and row counts.',
  request: z.strictObject({}),
  reply: z.strictObject({
    schemaVersion: z.int().min(0),
    customers: z.int().min(0),
    products: z.int().min(0),
    releases: z.int().min(0),
    entitlements: z.int().min(0),
    downloadEvents: z.int().min(0),
  }),
});
