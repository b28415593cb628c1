import { link, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';

/**
 * Checks that a hard link can join the repository to the areas: same device, and a real probe link
 * (a bind mount has the same device but still refuses links across it). Resolves true when links
 * work; false, or ERR_CROSS_DEVICE when `allowCrossDevice` is off, when they do not.
 */
export async function checkLinkable(tmpDir: string, areasDir: string, allowCrossDevice: boolean): Promise<boolean> {
  const [a, b] = await Promise.all([stat(tmpDir), stat(areasDir)]);
  let linkable = a.dev === b.dev;
  if (linkable) {
    const probe = join(tmpDir, `probe-${randomBytes(6).toString('hex')}`);
    const target = join(areasDir, `.probe-${randomBytes(6).toString('hex')}`);
    await writeFile(probe, '', { mode: 0o444 });
    try {
      await link(probe, target);
      await unlink(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      linkable = false;
    } finally {
      await unlink(probe).catch(() => {});
    }
  }
  if (!linkable && !allowCrossDevice) {
    throw FileHostErrors.CROSS_DEVICE(
      `the repository (${tmpDir}) and the areas (${areasDir}) are on different filesystems, so staging cannot use hard links; ` +
        'put both on one filesystem, or set services.ftp.allowCrossDevice to stage by copying',
      { repository: tmpDir, areas: areasDir },
    );
  }
  return linkable;
}
