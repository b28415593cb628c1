import { z } from 'zod';
import { defineOperation, type Operation } from '../operation.js';
import { pageReply, pageRequest } from '../page.js';
import { fileName, hostName, httpBaseUrl, isoTime, login, productCode, sha256, version } from '../names.js';

/**
 * The operations a file host serves to its web host over the commlink (the web host's orders:
 * store an upload, stage a release, prune an area …).
 */

const byteCount = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const expectation = {
  sha256: sha256.optional().describe('the SHA-256 the bytes must have'),
  size: byteCount.optional().describe('the number of bytes there must be'),
};
const stored = z.strictObject({ objectId: sha256, size: byteCount, created: z.boolean().describe('false when the object was there already') });
const release = z.strictObject({ product: productCode, version });
/** A path in a customer's area: `/product/version/filename`. */
const areaPath = z.string().min(1);
/**
 * How a file was staged: a hard link (the normal case), already there, a link to a fresh repository
 * copy (the object reached the link-count limit), or a reflink or copy (another filesystem).
 */
export const stageMethod = z.enum(['link', 'already', 'link-to-copy', 'reflink', 'copy']);
export const stagedFile = z.strictObject({ path: areaPath, method: stageMethod, size: byteCount });
export type StagedFile = z.output<typeof stagedFile>;

export const ingest = defineOperation({
  name: 'ingest',
  summary: 'Stores the bulk stream sent with the request as a repository object (SHA-256 computed as it streams in); optional expected size and SHA-256.',
  stream: true,
  request: z.strictObject(expectation),
  reply: stored,
});

export const ingestInbox = defineOperation({
  name: 'ingest.inbox',
  summary: 'Moves a file from the vendor inbox into the repository (SHA-256 computed in the worker pool); optional expected size and SHA-256.',
  request: z.strictObject({ name: fileName, ...expectation }),
  reply: stored,
});

export const objectStat = defineOperation({
  name: 'object.stat',
  summary: 'Size and link count of a repository object.',
  request: z.strictObject({ objectId: sha256 }),
  reply: z.strictObject({ objectId: sha256, size: byteCount, links: z.int().min(0), copies: z.int().min(0) }),
});

export const stage = defineOperation({
  name: 'stage',
  summary: "Hard-links objects into a customer's area (fallbacks reported per file); with `entitled`, also prunes releases not in it.",
  request: z.strictObject({
    customer: login,
    items: z
      .array(z.strictObject({ objectId: sha256, product: productCode, version, filename: fileName }))
      .min(1)
      .max(10_000),
    entitled: z.array(release).max(100_000).optional(),
  }),
  reply: z.strictObject({
    /** One per item, in the order of `items`. */
    files: z.array(stagedFile),
    pruned: z.array(areaPath),
    ms: z.number().min(0),
  }),
});

export const unstage = defineOperation({
  name: 'unstage',
  summary: "Removes a release (or all of a product's) from a customer's area.",
  request: z.strictObject({ customer: login, product: productCode, version: version.optional() }),
  reply: z.strictObject({ removed: z.array(areaPath) }),
});

export const prune = defineOperation({
  name: 'prune',
  summary: 'Removes what a customer is no longer entitled to: `releases` is what it may keep; without it the file host asks the internal-db.',
  request: z.strictObject({ customer: login, releases: z.array(release).max(100_000).optional() }),
  reply: z.strictObject({ removed: z.array(areaPath) }),
});

export const stagedList = defineOperation({
  name: 'staged.list',
  summary: "The files in a customer's area, by path, a page at a time.",
  request: z.strictObject({ customer: login, ...pageRequest }),
  reply: pageReply('files', z.strictObject({ path: areaPath, size: byteCount })),
});

export const fileHostInfo = defineOperation({
  name: 'filehost.info',
  summary: 'Name, download URL and repository size of this file host.',
  request: z.strictObject({}),
  reply: z.strictObject({
    name: hostName,
    httpUrl: httpBaseUrl,
    objects: z.int().min(0),
    linkable: z.boolean().describe('false when staging copies (repository and areas on different filesystems)'),
  }),
});

export const customerEnd = defineOperation({
  name: 'customer.end',
  summary:
    "Ends a customer's access now (it was disabled): its FTP and SFTP connections are closed and its HTTP downloads in progress cut off, " +
    'each audited as aborted; its remembered logins are forgotten. What its area holds is pruned separately (prune).',
  request: z.strictObject({ customer: login }),
  reply: z.strictObject({ ended: z.literal(true) }),
});

export const LIVE_PROTOCOLS = ['ftp', 'sftp', 'http'] as const;
export type LiveProtocol = (typeof LIVE_PROTOCOLS)[number];

/** A live FTP or SFTP session (login to close) or HTTP download (first byte to the response's end). */
export const liveSession = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/)
    .describe("Stable for the session's life, unique on this file host (the web host prefixes `<file host>:`)."),
  customer: login,
  protocol: z.enum(LIVE_PROTOCOLS),
  clientAddress: z.string().max(64),
  file: areaPath.nullable().describe('The file being sent now (`/product/version/filename`), or null.'),
  bytes: byteCount.describe('Bytes sent so far in this session.'),
  rate: byteCount.describe('Bytes per second over the last few seconds.'),
  startedAt: isoTime,
  elapsedMs: byteCount,
});
export type LiveSession = z.output<typeof liveSession>;

export const sessionsList = defineOperation({
  name: 'sessions.list',
  summary: 'The live FTP and SFTP sessions and HTTP downloads of this file host (its worker processes asked too).',
  request: z.strictObject({}),
  reply: z.strictObject({ sessions: z.array(liveSession) }),
});

export const sessionEnd = defineOperation({
  name: 'session.end',
  summary:
    'Ends one live session now: FTP 421 and close, SSH disconnect (by application, with the reason), HTTP response cut; ' +
    'its transfer is audited as aborted. Unknown id: ERR_NOT_FOUND.',
  request: z.strictObject({
    id: liveSession.shape.id,
    reason: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[^\p{Cc}]*$/u, 'one line of text, no control characters')
      .optional()
      .describe('What the client is told (FTP 421 text, SSH disconnect description); default "Ended by an administrator".'),
  }),
  reply: z.strictObject({ ended: z.literal(true) }),
});

/** Every operation a file host serves, in the order OPERATIONS.md lists them. */
export const FILE_HOST_OPERATIONS: readonly Operation[] = [
  ingest,
  ingestInbox,
  objectStat,
  stage,
  unstage,
  prune,
  stagedList,
  customerEnd,
  sessionsList,
  sessionEnd,
  fileHostInfo,
];
