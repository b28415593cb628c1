import { digestFile, type FileDigest } from '../../../lib/file-digest.js';

/** The HashPool's worker entry: runs in the piscina pool, off the main thread. */
export default function hashFile({ path }: { path: string }): Promise<FileDigest> {
  return digestFile(path);
}
