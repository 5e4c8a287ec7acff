// A token bucket: a burst of `burst` messages, then `perSecond` a second. One per WebSocket
// connection, and one per nick for messages posted over HTTP.

import { RATE_BURST, RATE_PER_SECOND } from "./limits.js";

export class TokenBucket {
  #tokens: number;
  #last = performance.now();

  constructor(
    readonly burst = RATE_BURST,
    readonly perSecond = RATE_PER_SECOND,
  ) {
    this.#tokens = burst;
  }

  /** Takes a token; `false` when there is none left right now. */
  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + ((now - this.#last) / 1000) * this.perSecond,
    );
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Buckets by key; the map starts afresh past 10,000 keys, so it cannot grow without bound. */
export class RateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();

  take(key: string): boolean {
    if (this.#buckets.size > 10_000) this.#buckets.clear();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket();
      this.#buckets.set(key, bucket);
    }
    return bucket.take();
  }
}
