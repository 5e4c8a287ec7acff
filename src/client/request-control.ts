// The total timeout and cancellation of one `request()` call, shared by all of its hops and
// the final body read.

import { addDeadline, cancelDeadline, type Expiring } from "./deadlines.js";
import { toClientError } from "./error-mapping.js";
import { ClientConnectionError, ServerTimeoutError } from "./errors.js";
import type { ClientResponse } from "./response.js";

/**
 * The cancellation of one request, in the shape undici accepts as `signal` (`aborted`,
 * `reason` and EventEmitter-style `on`/`once`/`removeListener` for "abort"): several times
 * cheaper per request than an AbortController, whose signal is an EventTarget, and than an
 * EventEmitter, which wraps each `once` listener. "abort" is its only event and comes at most
 * once, so every listener is a once-listener.
 */
export class RequestAbort {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Array<() => void> | null = null;

  on(_event: "abort", listener: () => void): this {
    if (this.#listeners === null) this.#listeners = [listener];
    else this.#listeners.push(listener);
    return this;
  }

  once(event: "abort", listener: () => void): this {
    return this.on(event, listener);
  }

  addListener(event: "abort", listener: () => void): this {
    return this.on(event, listener);
  }

  off(_event: "abort", listener: () => void): this {
    const listeners = this.#listeners;
    const i = listeners === null ? -1 : listeners.indexOf(listener);
    if (i !== -1) listeners?.splice(i, 1);
    return this;
  }

  removeListener(event: "abort", listener: () => void): this {
    return this.off(event, listener);
  }

  /** Forgets every listener: the request is over, nothing is left to cancel. */
  removeAllListeners(): void {
    this.#listeners = null;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = null;
    if (listeners !== null) for (const listener of listeners) listener();
  }
}

/**
 * The total timeout and cancellation of one `request()` call: one cancel signal for every hop
 * and for the final body read, cleared when that body is done with.
 */
export class RequestControl implements Expiring {
  readonly #ac = new RequestAbort();
  /** The total timeout, ms; 0: none. */
  readonly #total: number;
  readonly #method: string;
  readonly #url: URL;
  readonly #user: AbortSignal | undefined;
  /** Made only for a caller's signal: most requests have none. */
  readonly #onUserAbort: (() => void) | undefined;

  constructor(total: number, method: string, url: URL, user: AbortSignal | undefined) {
    this.#total = total;
    this.#method = method;
    this.#url = url;
    this.#user = user;
    if (total > 0) addDeadline(total, this);
    if (user !== undefined) {
      const onUserAbort = (): void => this.#ac.abort(user.reason);
      this.#onUserAbort = onUserAbort;
      if (user.aborted) this.#ac.abort(user.reason);
      else user.addEventListener("abort", onUserAbort, { once: true });
    }
  }

  get signal(): RequestAbort {
    return this.#ac;
  }

  /** The final response: the timeout keeps covering its body until it is done with. */
  attach(response: ClientResponse): void {
    this.#final = response;
    if (response.closed) this.#clear();
  }

  #final: ClientResponse | null = null;

  /** A response's body is done with; for the final one the request is over. */
  responseDone(response: ClientResponse): void {
    if (response === this.#final) this.#clear();
  }

  fail(): void {
    this.#clear();
  }

  /** The total timeout is up (src/client/deadlines.ts). */
  expire(): void {
    const message = `Timeout (total ${this.#total} ms) on ${this.#method} ${this.#url}`;
    this.#ac.abort(new ServerTimeoutError(message));
  }

  #clear(): void {
    if (this.#total > 0) cancelDeadline(this.#total, this);
    // The attempts' listeners (src/client/attempt.ts) stay until now.
    this.#ac.removeAllListeners();
    if (this.#onUserAbort !== undefined) {
      this.#user?.removeEventListener("abort", this.#onUserAbort);
    }
  }

  /**
   * Maps undici's and Node's errors to the client hierarchy; `connectorClosed` tells a pool
   * destroyed by `close()` from one undici destroyed itself.
   */
  mapError(err: unknown, url: URL, method: string, connectorClosed = true): Error {
    if (this.#ac.aborted) {
      const reason: unknown = this.#ac.reason;
      return reason instanceof Error
        ? reason
        : new ClientConnectionError(String(reason), { cause: err });
    }
    return toClientError(err, url, method, connectorClosed);
  }
}
