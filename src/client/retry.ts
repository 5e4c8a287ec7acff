// RetryMiddleware: sends a hop again after a connection error, a timeout or a status that says
// "try later", for methods that may be repeated, waiting with exponential backoff (full jitter)
// or what the server's Retry-After asks.

import { ClientConnectionError, ClientSSLError, ServerFingerprintMismatch } from "./errors.js";
import type { ClientHandler, ClientMiddlewareObject, MiddlewareRequest } from "./middleware.js";
import type { ClientResponse } from "./response.js";

/** Options of `RetryMiddleware` (and the session's `retry`). */
export interface RetryOptions {
  /** Attempts in all, the first one included. @default 3 */
  attempts?: number;
  /** Methods retried (RFC 9110 9.2.2 idempotent ones). @default ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"] */
  methods?: Iterable<string>;
  /** Response statuses retried. @default [408, 429, 500, 502, 503, 504] */
  statuses?: Iterable<number>;
  /**
   * First backoff, milliseconds: the wait before attempt n+1 is random in
   * [0, min(maxDelay, baseDelay * 2^(n-1))]. @default 100
   */
  baseDelay?: number;
  /** Longest wait, milliseconds, Retry-After included. @default 30_000 */
  maxDelay?: number;
  /** Wait what a 429/503's Retry-After says (seconds or HTTP-date), capped by maxDelay. @default true */
  respectRetryAfter?: boolean;
}

const DEFAULT_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];
const DEFAULT_STATUSES = [408, 429, 500, 502, 503, 504];

/**
 * Retries a request after a connection error (`ClientConnectionError`, timeouts included) or a
 * response of a retried status. A request whose body is a stream is never sent again. The
 * response of a failed attempt is released before the next one; the last attempt's response
 * (or error) is what the caller gets.
 */
export class RetryMiddleware implements ClientMiddlewareObject {
  readonly #attempts: number;
  readonly #methods: ReadonlySet<string>;
  readonly #statuses: ReadonlySet<number>;
  readonly #baseDelay: number;
  readonly #maxDelay: number;
  readonly #respectRetryAfter: boolean;

  constructor(options: RetryOptions = {}) {
    this.#attempts = options.attempts ?? 3;
    if (!Number.isInteger(this.#attempts) || this.#attempts < 1) {
      throw new RangeError(`attempts must be an integer >= 1, got ${options.attempts}`);
    }
    this.#methods = new Set([...(options.methods ?? DEFAULT_METHODS)].map((m) => m.toUpperCase()));
    this.#statuses = new Set(options.statuses ?? DEFAULT_STATUSES);
    this.#baseDelay = options.baseDelay ?? 100;
    this.#maxDelay = options.maxDelay ?? 30_000;
    this.#respectRetryAfter = options.respectRetryAfter ?? true;
  }

  async handle(request: MiddlewareRequest, handler: ClientHandler): Promise<ClientResponse> {
    for (let attempt = 1; ; attempt++) {
      const mayRetry =
        attempt < this.#attempts && this.#methods.has(request.method) && request.bodyReplayable;
      let response: ClientResponse;
      try {
        response = await handler(request);
      } catch (err) {
        if (!mayRetry || !retriable(err)) throw err;
        await wait(this.#backoff(attempt), request.signal);
        continue;
      }
      if (!mayRetry || !this.#statuses.has(response.status)) return response;
      const asked = this.#respectRetryAfter
        ? retryAfter(response.headers.get("Retry-After"))
        : null;
      await response.release();
      const delay = asked === null ? this.#backoff(attempt) : Math.min(asked, this.#maxDelay);
      await wait(delay, request.signal);
    }
  }

  #backoff(attempt: number): number {
    return Math.random() * Math.min(this.#maxDelay, this.#baseDelay * 2 ** (attempt - 1));
  }
}

/** Milliseconds a Retry-After value asks for (delta-seconds or HTTP-date), or `null`. */
export function retryAfter(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** A connection error or a timeout; not a TLS failure, which the next attempt would repeat. */
function retriable(err: unknown): boolean {
  return (
    err instanceof ClientConnectionError &&
    !(err instanceof ClientSSLError) &&
    !(err instanceof ServerFingerprintMismatch)
  );
}

/** Waits `ms`, or rejects with the reason of `signal` once it aborts. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
