// Requests' total timeouts on one Node timer per duration rather than one per request: requests
// of one duration expire in the order they started, so only the oldest needs a timer. A timer
// per request cost a Timeout object, its callback and two timer-list operations for every
// request, nearly all of which end long before their timeout.

/** What runs out of time. */
export interface Expiring {
  expire(): void;
}

/** The pending deadlines of one duration, oldest first. */
class Deadlines {
  readonly #ms: number;
  /** Each one's deadline (performance.now() ms), in the order they were added. */
  readonly #pending = new Map<Expiring, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(what: Expiring): void {
    this.#pending.set(what, performance.now() + this.#ms);
    if (this.#timer === undefined) this.#arm(this.#ms);
  }

  delete(what: Expiring): void {
    if (!this.#pending.delete(what) || this.#pending.size > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    byDuration.delete(this.#ms);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#fire(), ms);
  }

  #fire(): void {
    this.#timer = undefined;
    const now = performance.now();
    const expired: Expiring[] = [];
    for (const [what, deadline] of this.#pending) {
      if (deadline > now) {
        // Node's timers may fire a little before performance.now() says the time is up.
        this.#arm(Math.ceil(deadline - now));
        break;
      }
      expired.push(what);
    }
    for (const what of expired) this.#pending.delete(what);
    if (this.#pending.size === 0) byDuration.delete(this.#ms);
    // Last: an expiry may start another request, with a deadline of its own.
    for (const what of expired) what.expire();
  }
}

const byDuration = new Map<number, Deadlines>();

/** Calls `what.expire()` once `ms` (> 0) have passed, unless `cancelDeadline(ms, what)` first. */
export function addDeadline(ms: number, what: Expiring): void {
  let deadlines = byDuration.get(ms);
  if (deadlines === undefined) {
    deadlines = new Deadlines(ms);
    byDuration.set(ms, deadlines);
  }
  deadlines.add(what);
}

/** Forgets the deadline of `what` (added with the same `ms`); nothing when it has none. */
export function cancelDeadline(ms: number, what: Expiring): void {
  byDuration.get(ms)?.delete(what);
}
