// A route: one method on one resource, with its handler and its Expect handler.

import { type HTTPException, HTTPExpectationFailed } from "../exceptions.js";
import type { Request } from "../request.js";
import type { StreamResponse } from "../response.js";
import { kDispatch } from "../symbols.js";
import type { Resource } from "./resource.js";
import { isViewClass, type ViewClass } from "./view.js";

/** What a handler gives back: a response, or an HTTP exception to answer with. */
export type HandlerResult = StreamResponse | HTTPException;

/** A request handler. `P` types `request.matchInfo`. */
export type Handler<P = Readonly<Record<string, string>>> = (
  request: Request<P>,
) => HandlerResult | Promise<HandlerResult>;

/**
 * Runs before the handler when a request has an `Expect` header. The default answers
 * `100-continue` with an interim 100 and other expectations with 417. Returning a response
 * sends it instead of calling the handler (to refuse an upload before the body is sent).
 */
export type ExpectHandler = (
  request: Request,
) => undefined | HandlerResult | Promise<undefined | HandlerResult>;

/** RFC 9110 10.1.1: answer `100-continue`, refuse any other expectation with 417. */
export const defaultExpectHandler: ExpectHandler = (request) => {
  const expect = request.headers.get("Expect")?.trim().toLowerCase() ?? "";
  if (expect === "100-continue") {
    // HTTP/1.0 has no interim responses; HTTP/1.1 and HTTP/2 (RFC 9113 8.1) do.
    const { major, minor } = request.version;
    if (major > 1 || (major === 1 && minor >= 1)) {
      request.rawResponse.writeContinue();
    }
    return undefined;
  }
  throw new HTTPExpectationFailed({ text: `Unknown Expect: ${expect}` });
};

/** Options when registering a route. */
export interface RouteOptions {
  /** A name for `router.named(name).urlFor(...)`. */
  name?: string;
  /** Handler for `Expect` headers; see `ExpectHandler`. */
  expectHandler?: ExpectHandler;
}

/** A method on a resource and the handler that serves it. */
export class Route {
  readonly method: string;
  readonly handler: Handler;
  readonly resource: Resource;
  readonly expectHandler: ExpectHandler;

  constructor(
    method: string,
    handler: Handler | ViewClass,
    resource: Resource,
    expectHandler: ExpectHandler = defaultExpectHandler,
  ) {
    this.method = method;
    this.resource = resource;
    this.expectHandler = expectHandler;
    if (isViewClass(handler)) {
      const View = handler;
      this.handler = (request) => new View(request)[kDispatch]();
      this.viewClass = View;
    } else if (typeof handler === "function") {
      this.handler = handler;
    } else {
      throw new TypeError(
        `Handler for ${method} ${resource.canonical} must be a function or a View`,
      );
    }
  }

  /** The view class when the route was registered with `addView`. */
  readonly viewClass: ViewClass | undefined;

  /** The resource's name. */
  get name(): string | null {
    return this.resource.name;
  }

  toString(): string {
    return `<Route ${this.method} ${this.resource.canonical}>`;
  }
}
