/**
 * Polls `predicate` every 10 ms until it holds; past `timeoutMs` fails naming `what` (a function is
 * evaluated only then, so it can describe the state at the time, such as a process's log).
 */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string) = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Settles as `promise` does; past `timeoutMs` fails naming `what` (for an event that must come). */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`)), timeoutMs);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** A promise and its resolver, for a moment the test marks itself (a handler was called, may go on). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
