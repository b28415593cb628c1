import type { SigninAttempt, SigninLimiter } from '../portal/rate-limit.js';
import type { IpcCalls } from './ipc-calls.js';
import type { WorkerNotice } from './wire.js';

/**
 * A worker's sign-in limits: the primary's LoginLimiter, asked over IPC, so that the limits per
 * address and per login hold for the web host as a whole, not once per worker. The attempt is held
 * in the primary until the worker tells it how it was decided (or the worker exits: cancelled).
 */
export class RemoteLoginLimiter implements SigninLimiter {
  readonly #calls: IpcCalls;
  readonly #notify: (notice: WorkerNotice) => void;

  constructor(calls: IpcCalls, notify: (notice: WorkerNotice) => void) {
    this.#calls = calls;
    this.#notify = notify;
  }

  async reserve(address: string, login: string): Promise<SigninAttempt> {
    // No timeout of its own: the primary answers once the sign-ins in flight for the address are decided.
    const { attempt, delayMs } = await this.#calls.call<{ attempt: number; delayMs: number }>('signin.reserve', { address, login }, 0);
    let decided = false;
    const decide = (outcome: 'failed' | 'succeeded' | 'cancel') => {
      if (decided) return;
      decided = true;
      this.#notify({ type: 'signin.decide', attempt, outcome });
    };
    return { delayMs, failed: () => decide('failed'), succeeded: () => decide('succeeded'), cancel: () => decide('cancel') };
  }
}
