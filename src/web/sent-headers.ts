// What happens to a change of a response whose head is out: it is ignored, as in aiohttp, so
// that a middleware written for plain responses (`resp.headers.set(...)` after the handler)
// does not break streams and WebSockets. In debug mode each route reports the first one.

import { CIMultiDict, type MultiDictInit } from "../http/multidict.js";
import type { Request } from "./request.js";
import { kCtx } from "./symbols.js";

/** Routes (or, for requests without one, servers) that have reported an ignored change. */
const reported = new WeakSet<object>();

/**
 * Reports a change made after the head of `request`'s response was sent: with the served
 * application's `debug` on, one warning per route; otherwise nothing.
 */
export function reportIgnoredChange(request: Request | null, what: string): void {
  if (request === null) return;
  const ctx = request[kCtx];
  if (!ctx.debug) return;
  const route = request.matchResult?.route ?? null;
  const key: object = route ?? ctx;
  if (reported.has(key)) return;
  reported.add(key);
  const where =
    route === null
      ? `${request.method} ${request.path}`
      : `route ${route.method} ${route.resource.canonical}`;
  ctx.logger.warn?.(
    `${what} after prepare() was ignored (${where}): the response's head is already sent. ` +
      "Change the response before prepare(), or in an onResponsePrepare callback.",
  );
}

/** The headers of a response whose head is out: they read as what was sent, changes do nothing. */
export class SentHeaders extends CIMultiDict {
  readonly #report: (what: string) => void;

  /** @param report told about each change that is ignored */
  constructor(sent: CIMultiDict, report: (what: string) => void) {
    super(sent);
    this.#report = report;
  }

  override add(key: string, _value: string): this {
    this.#report(`headers.add(${JSON.stringify(key)})`);
    return this;
  }
  override set(key: string, _value: string): this {
    this.#report(`headers.set(${JSON.stringify(key)})`);
    return this;
  }
  /** Returns the value sent, or `value` when none was, as if it had been set. */
  override setDefault(key: string, value: string): string {
    const sent = this.get(key);
    if (sent !== undefined) return sent;
    this.#report(`headers.setDefault(${JSON.stringify(key)})`);
    return value;
  }
  override delete(key: string): boolean {
    this.#report(`headers.delete(${JSON.stringify(key)})`);
    return false;
  }
  override popOne(key: string): string | undefined {
    this.#report(`headers.popOne(${JSON.stringify(key)})`);
    return undefined;
  }
  override extend(_init: MultiDictInit): this {
    this.#report("headers.extend()");
    return this;
  }
  override update(_init: MultiDictInit): this {
    this.#report("headers.update()");
    return this;
  }
  override clear(): void {
    this.#report("headers.clear()");
  }
}
