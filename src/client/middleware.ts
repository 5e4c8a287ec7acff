// Client middlewares (aiohttp 3.12): functions (or objects with `handle`) around each hop of a
// request, outermost first, that may change the outgoing request, answer themselves, or call
// the rest of the chain more than once (a retry).

import type { CIMultiDict } from "../http/multidict.js";
import type { ClientResponse } from "./response.js";
import type { kEntityBody } from "./symbols.js";
import type { RequestData } from "./types.js";

/** What a middleware sees of the request it wraps: one hop of it. */
export interface MiddlewareRequest {
  /** The hop's method (a 303 redirect turns it into GET). */
  readonly method: string;
  /** The hop's URL. */
  readonly url: URL;
  /**
   * The request's own headers (the session's defaults, cookies and auth are added under them
   * when the hop is sent). Changes apply to this hop and the ones after it.
   */
  readonly headers: CIMultiDict;
  /** The body as given (`data`, or the value of `json`); `undefined` when there is none. */
  readonly body: RequestData | undefined;
  /** Aborted when the request is cancelled or its total timeout passes. */
  readonly signal: AbortSignal;
  /** Whether the body can be sent again: false for a stream (it is read once). */
  readonly bodyReplayable: boolean;
  /** Replaces the body (as `data` would give it) for this hop and the ones after it. */
  updateBody(data: RequestData | undefined): void;
  /** @internal The body's bytes as sent, `null` when they are not in memory. */
  readonly [kEntityBody]?: () => Uint8Array | null;
}

/** aiohttp's name for what a middleware gets: `async (req: ClientRequest, handler) => ...`. */
export type ClientRequest = MiddlewareRequest;

/** The rest of the chain: sends the hop (as it stands when called) and gives the response. */
export type ClientHandler = (request: MiddlewareRequest) => Promise<ClientResponse>;

/** A middleware as a function. */
export type ClientMiddlewareFunction = (
  request: MiddlewareRequest,
  handler: ClientHandler,
) => Promise<ClientResponse>;

/** A middleware as an object (such as `RetryMiddleware`). */
export interface ClientMiddlewareObject {
  handle(request: MiddlewareRequest, handler: ClientHandler): Promise<ClientResponse>;
}

/** A client middleware: a function, or an object with a `handle` method. */
export type ClientMiddleware = ClientMiddlewareFunction | ClientMiddlewareObject;

/** Checks a `middlewares` option and copies it. */
export function toMiddlewares(value: Iterable<ClientMiddleware> | undefined): ClientMiddleware[] {
  const list = [...(value ?? [])];
  for (const mw of list) {
    if (typeof mw !== "function" && typeof (mw as ClientMiddlewareObject)?.handle !== "function") {
      throw new TypeError(
        "A client middleware must be a function (request, handler) => response or an object with handle()",
      );
    }
  }
  return list;
}

/** `middlewares` composed around `last`, the first one outermost. */
export function compose(
  middlewares: readonly ClientMiddleware[],
  last: ClientHandler,
): ClientHandler {
  let handler = last;
  for (let i = middlewares.length - 1; i >= 0; i--) {
    const mw = middlewares[i] as ClientMiddleware;
    const next = handler;
    handler =
      typeof mw === "function"
        ? (request) => mw(request, next)
        : (request) => mw.handle(request, next);
  }
  return handler;
}
