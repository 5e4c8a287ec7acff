// Slots under a connection limit: the connector's `limit` (all hosts) and, per origin,
// `limitPerHost`. A request takes a slot before it is sent and gives it back once its response
// is done with; beyond the limit it waits, as long as the `connect` timeout allows.

import { ConnectionTimeoutError } from "./errors.js";

/** An AbortSignal, or an EventEmitter with `aborted` and `reason` (what undici also accepts). */
export type Cancel =
  | AbortSignal
  | {
      aborted: boolean;
      reason: unknown;
      once(e: "abort", f: () => void): unknown;
      off(e: "abort", f: () => void): unknown;
    };

/** Listens once for a `Cancel`'s abort. */
export function onceAbort(signal: Cancel, f: () => void): void {
  if ("addEventListener" in signal) signal.addEventListener("abort", f, { once: true });
  else signal.once("abort", f);
}

/** Stops listening for a `Cancel`'s abort. */
export function offAbort(signal: Cancel, f: () => void): void {
  if ("removeEventListener" in signal) signal.removeEventListener("abort", f);
  else signal.off("abort", f);
}

/** Gives a slot back; a second call does nothing. */
export type ReleaseSlot = () => void;

/**
 * The slot `taking` gives, with `then` run when it is released, or at once when taking it
 * fails (a timeout, a cancel): for a slot taken under two limits, or bookkeeping of its own.
 */
export async function alsoOnRelease(
  taking: Promise<ReleaseSlot>,
  then: () => void,
): Promise<ReleaseSlot> {
  let release: ReleaseSlot;
  try {
    release = await taking;
  } catch (err) {
    then();
    throw err;
  }
  return () => {
    release();
    then();
  };
}

/** At most `limit` slots taken at once (0: no limit); the others wait in order. */
export class SlotQueue {
  readonly limit: number;
  #active = 0;
  #waiters: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Whether nobody holds or waits for a slot. */
  get idle(): boolean {
    return this.#active === 0 && this.#waiters.length === 0;
  }

  /**
   * Takes a slot, waiting while all are taken. `timeoutMs` bounds the wait
   * (`ConnectionTimeoutError` naming `what`); `signal` cancels it with its reason.
   */
  async take(timeoutMs: number, signal: Cancel | undefined, what: string): Promise<ReleaseSlot> {
    if (this.limit === 0 || this.#active < this.limit) return this.#take();
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (): void => {
        clearTimeout(timer);
        if (signal !== undefined) offAbort(signal, onAbort);
        resolve();
      };
      const drop = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        if (signal !== undefined) offAbort(signal, onAbort);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        drop();
        reject(signal?.reason);
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          drop();
          reject(
            new ConnectionTimeoutError(
              `Connection timeout to ${what} (waited ${timeoutMs} ms for a free slot)`,
            ),
          );
        }, timeoutMs);
      }
      if (signal?.aborted) {
        onAbort();
        return;
      }
      if (signal !== undefined) onceAbort(signal, onAbort);
      this.#waiters.push(waiter);
    });
    return this.#take();
  }

  /** A slot when one is free and nobody waits for one, else `null`. */
  tryTake(): ReleaseSlot | null {
    if (this.#waiters.length > 0) return null;
    return this.limit === 0 || this.#active < this.limit ? this.#take() : null;
  }

  #take(): ReleaseSlot {
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const next = this.#waiters.shift();
      if (next !== undefined) next();
    };
  }
}
