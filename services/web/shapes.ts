import { z } from 'zod';
import type { StagedFile } from '../../lib/contracts/file-host/operations.js';
import { resolvedArtifact, storedName } from '../../lib/contracts/internal-db/shapes.js';
import { hostName, id, isoTime, login, sha256 } from '../../lib/contracts/names.js';

/**
 * What the web host hands out (REST API answers, portal pages): declared once, as schemas, so the
 * types of the orchestration (fulfillment.ts) and the OpenAPI document are the same facts.
 */

/** What a customer sees of an artifact (not the repository's internals: no object id). */
export const publicArtifact = resolvedArtifact.omit({ objectId: true });
export type PublicArtifact = z.output<typeof publicArtifact>;

/** A signed, expiring download link for one artifact, with what to check the download against. */
export const downloadLink = z.strictObject({
  url: z.string().describe('The signed URL on the file host (GET it; Range works).'),
  expiresAt: isoTime,
  artifactId: id,
  filename: storedName,
  size: z.int().min(0),
  sha256,
  host: hostName.describe('The file host that serves it.'),
});
export type DownloadLink = z.output<typeof downloadLink>;

/** A file staged in the customer's area, with its download link. */
export const stagedFileLink = z.strictObject({
  path: z.string().describe('Where it is in the FTP and SFTP area: /product/version/filename.'),
  size: z.int().min(0),
  artifactId: id,
  sha256,
  filename: storedName,
  url: z.string().describe('A signed download URL for it.'),
});

/** A release staged in a customer's area on a file host. */
export const stagedRelease = z.strictObject({
  host: hostName,
  product: storedName,
  version: storedName,
  files: z.array(stagedFileLink),
  ftpUrl: z.string().optional().describe('Where to find the release by FTP (absent when the file host serves no FTP).'),
  sftpUrl: z.string().optional().describe('Where to find the release by SFTP (absent when the file host serves no SFTP).'),
  pruned: z.array(z.string()).describe('What left the area because it is no longer entitled.'),
  ms: z.number().min(0).describe('How long the file host took to stage, in milliseconds.'),
  login: login.describe('The login to use for FTP and SFTP.'),
});
export type StagedRelease = z.output<typeof stagedRelease>;

/** A staging as the orchestration knows it: also how each file was placed (link, copy …), which the API does not show. */
export type Staging = Omit<StagedRelease, 'files'> & { files: (StagedRelease['files'][number] & { method: StagedFile['method'] })[] };
