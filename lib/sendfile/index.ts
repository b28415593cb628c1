import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * sendfile(2) from the small native addon in this folder (src/sendfile.c, built by `npm ci` with
 * node-gyp): file bytes go to a socket inside the kernel, never through a JavaScript buffer.
 * `sendfile` is undefined where the addon is not built (not Linux, no compiler): callers then use
 * streams, which work everywhere.
 */
export type Sendfile = (socketFd: number, fileFd: number, offset: number, count: number) => number;

function load(): { sendfile: Sendfile | undefined; reason: string | undefined } {
  // dist/lib/sendfile/index.js → lib/sendfile/build/Release/sendfile.node (the addon is built in the source tree).
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'lib', 'sendfile', 'build', 'Release', 'sendfile.node');
  try {
    const addon = createRequire(import.meta.url)(path) as { sendfile: Sendfile };
    return { sendfile: addon.sendfile, reason: undefined };
  } catch (err) {
    return { sendfile: undefined, reason: (err as Error).message };
  }
}

const loaded = load();

export const sendfile: Sendfile | undefined = process.platform === 'linux' ? loaded.sendfile : undefined;

/** Why the addon is not available (for the log), or undefined when it is. */
export const sendfileUnavailable: string | undefined = sendfile ? undefined : (loaded.reason ?? `not supported on ${process.platform}`);

export const EAGAIN = -11;
