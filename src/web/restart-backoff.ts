// How long runApp's primary waits before restarting a crashed worker: exponential back-off, so
// that a worker that fails at start cannot make the primary fork in a tight loop.

/** Delay before the first restart, ms. */
export const FIRST_RESTART_DELAY = 100;
/** The longest delay between restarts, ms. */
export const MAX_RESTART_DELAY = 10_000;
/** A worker that served this long before it died starts the back-off afresh, ms. */
export const STABLE_AFTER = 10_000;

/** The restart delays of one worker slot: 100 ms, 200 ms, 400 ms ... 10 s. */
export class RestartBackoff {
  #next = FIRST_RESTART_DELAY;

  /**
   * The delay before restarting a worker that died after serving for `servedMs` (`null`: it
   * died before it was ready). A worker that stayed up resets the sequence.
   */
  next(servedMs: number | null): number {
    if (servedMs !== null && servedMs >= STABLE_AFTER) this.#next = FIRST_RESTART_DELAY;
    const delay = this.#next;
    this.#next = Math.min(delay * 2, MAX_RESTART_DELAY);
    return delay;
  }
}
