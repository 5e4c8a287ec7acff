// Class-based views (aiohttp's web.View): one method per HTTP verb, dispatched by the router.

import { HTTPMethodNotAllowed } from "../exceptions.js";
import type { Request } from "../request.js";
import { kDispatch } from "../symbols.js";
import type { HandlerResult } from "./route.js";

/** Methods a view may implement; each is called as `view.get()` with `this.request` set. */
export const VIEW_METHODS = ["get", "head", "post", "put", "patch", "delete", "options"] as const;

/**
 * Subclass it and define `get()`, `post()`... Registered with `router.addView(path, MyView)`.
 * A verb the class does not define answers 405 with an `Allow` listing the ones it does.
 */
export class View<P = Readonly<Record<string, string>>> {
  constructor(readonly request: Request<P>) {}

  /** @internal dispatches to the method named like the request's verb */
  async [kDispatch](): Promise<HandlerResult> {
    const name = this.request.method.toLowerCase();
    // Only the verb names are looked up, so `constructor` or a helper can never be called;
    // the subclass's methods are not known statically, hence the record view of `this`.
    const verb = (VIEW_METHODS as readonly string[]).includes(name);
    const fn = verb ? (this as unknown as Record<string, unknown>)[name] : undefined;
    if (typeof fn !== "function") {
      throw new HTTPMethodNotAllowed(this.request.method, allowedViewMethods(this.constructor));
    }
    // The verb methods of a View subclass take no arguments and return a handler result.
    return await (fn as () => HandlerResult | Promise<HandlerResult>).call(this);
  }
}

/** The verbs a view class implements, upper-case. */
export function allowedViewMethods(cls: Function): string[] {
  const proto = cls.prototype as Record<string, unknown>;
  return VIEW_METHODS.filter((m) => typeof proto[m] === "function").map((m) => m.toUpperCase());
}

/**
 * A view class, as `addView` takes it for a route whose parameters are `P`. Only the
 * constructor is checked against the template: a view typed `View<{ id: string }>` needs a
 * template with `{id}`, while an untyped `View` (a string record) fits any route, as an untyped
 * handler does. The instance is a view of any parameters: the router only dispatches it.
 */
export type ViewClass<P = Readonly<Record<string, string>>> = new (
  request: Request<P>,
) => View<unknown>;

/** Whether a handler argument is a `View` subclass rather than a function. */
export function isViewClass(h: unknown): h is ViewClass {
  return typeof h === "function" && h.prototype instanceof View;
}
