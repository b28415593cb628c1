import { z } from 'zod';

/** Field schemas shared by the API's routes (the internal-db checks them again, strictly). */
export const login = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, 'a login is 2-64 of a-z 0-9 . _ -, starting with a letter or digit');
export const productCode = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a product code is 1-64 of a-z 0-9 . _ -');
export const version = z.string().min(1).max(256).refine((v) => /^[0-9A-Za-z.+-]+$/.test(v), 'a semantic version such as 2.1.0');
export const channel = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a channel is a lowercase word such as stable or beta');
export const label = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/, 'lowercase letters, digits, . _ -');
export const filename = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^/\\\u0000-\u001f\u007f]+$/, 'a file name has no slashes or control characters')
  .refine((f) => f !== '.' && f !== '..', 'not . or ..');
export const text = (max: number) => z.string().min(1).max(max).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed');
export const isoTime = z.iso.datetime({ offset: true });
/** A positive integer in a path or query string. */
export const idParam = z.string().regex(/^[1-9][0-9]{0,15}$/, 'a positive integer').transform(Number);
export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');
export const protocol = z.enum(['http', 'ftp', 'sftp']);
