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
