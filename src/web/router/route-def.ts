// Route definitions that are registered later (aiohttp's web.get/web.post/... and
// RouteTableDef): build a table in one module, `app.router.addRoutes(table)` in another.

import type { PathParams } from "./path-params.js";
import type { Handler, Route, RouteOptions } from "./route.js";
import type { StaticOptions } from "./static-resource.js";
import type { GetRouteOptions, UrlDispatcher } from "./url-dispatcher.js";
import type { ViewClass } from "./view.js";

/** Something `router.addRoutes` can register. */
export interface RouteDef {
  readonly method: string;
  readonly path: string;
  register(router: UrlDispatcher): Route[];
}

class MethodRouteDef implements RouteDef {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly handler: Handler | ViewClass,
    readonly options: GetRouteOptions,
  ) {}

  register(router: UrlDispatcher): Route[] {
    // Only get() makes GET definitions, and it takes a function, never a view.
    if (this.method === "GET")
      return [router.addGet(this.path, this.handler as Handler, this.options)];
    return [router.addRoute(this.method, this.path, this.handler, this.options)];
  }

  toString(): string {
    return `<RouteDef ${this.method} ${this.path}>`;
  }
}

class StaticRouteDef implements RouteDef {
  readonly method = "GET";
  constructor(
    readonly path: string,
    readonly directory: string | URL,
    readonly options: StaticOptions,
  ) {}

  register(router: UrlDispatcher): Route[] {
    return router.addStatic(this.path, this.directory, this.options).routes;
  }

  toString(): string {
    return `<StaticDef ${this.path} -> ${this.directory}>`;
  }
}

/** Static files under `prefix` (`router.addStatic` as a definition). */
function staticRoute(
  prefix: string,
  directory: string | URL,
  options: StaticOptions = {},
): RouteDef {
  return new StaticRouteDef(prefix, directory, options);
}

// `static` is reserved in strict code, so it is exported under that name from another.
export { staticRoute as static };

/** A route for any method name. */
export function route<Path extends string>(
  method: string,
  path: Path,
  handler: Handler<PathParams<Path>>,
  options: RouteOptions = {},
): RouteDef {
  // Widening matchInfo is sound: the route is registered on this same `path`.
  return new MethodRouteDef(method.toUpperCase(), path, handler as Handler, options);
}

/** GET (and HEAD unless `allowHead: false`). */
export function get<Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  options: GetRouteOptions = {},
): RouteDef {
  // Widening matchInfo is sound: the route is registered on this same `path`.
  return new MethodRouteDef("GET", path, handler as Handler, options);
}

export function post<Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  options: RouteOptions = {},
): RouteDef {
  return route("POST", path, handler, options);
}

export function put<Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  options: RouteOptions = {},
): RouteDef {
  return route("PUT", path, handler, options);
}

export function patch<Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  options: RouteOptions = {},
): RouteDef {
  return route("PATCH", path, handler, options);
}

function del<Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  options: RouteOptions = {},
): RouteDef {
  return route("DELETE", path, handler, options);
}

export { del as delete };

export function head<Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  options: RouteOptions = {},
): RouteDef {
  return route("HEAD", path, handler, options);
}

export function options<Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  opts: RouteOptions = {},
): RouteDef {
  return route("OPTIONS", path, handler, opts);
}

/** Any method. */
export function any<Path extends string>(
  path: Path,
  handler: Handler<PathParams<Path>>,
  options: RouteOptions = {},
): RouteDef {
  return route("*", path, handler, options);
}

/** A class-based view. */
export function view<Path extends string>(
  path: Path,
  viewClass: ViewClass<PathParams<Path>>,
  options: RouteOptions = {},
): RouteDef {
  // Sound as above; the double cast is needed because a constructor's parameter is checked
  // contravariantly, so a view of narrower params is not directly a ViewClass.
  return new MethodRouteDef("*", path, viewClass as unknown as ViewClass, options);
}

/**
 * A table of routes filled with `routes.get("/a", handler)` and registered all at once with
 * `app.router.addRoutes(routes)`. Each method returns the handler, so it can wrap a
 * definition: `export const index = routes.get("/", async (req) => ...)`.
 */
export class RouteTableDef implements Iterable<RouteDef> {
  #defs: RouteDef[] = [];

  route<Path extends string, H extends Handler<PathParams<Path>>>(
    method: string,
    path: Path,
    handler: H,
    options: RouteOptions = {},
  ): H {
    this.#defs.push(route(method, path, handler, options));
    return handler;
  }

  get<Path extends string, H extends Handler<PathParams<Path>>>(
    path: Path,
    handler: H,
    options: GetRouteOptions = {},
  ): H {
    this.#defs.push(get(path, handler, options));
    return handler;
  }

  post<Path extends string, H extends Handler<PathParams<Path>>>(
    path: Path,
    handler: H,
    options: RouteOptions = {},
  ): H {
    return this.route("POST", path, handler, options);
  }

  put<Path extends string, H extends Handler<PathParams<Path>>>(
    path: Path,
    handler: H,
    options: RouteOptions = {},
  ): H {
    return this.route("PUT", path, handler, options);
  }

  patch<Path extends string, H extends Handler<PathParams<Path>>>(
    path: Path,
    handler: H,
    options: RouteOptions = {},
  ): H {
    return this.route("PATCH", path, handler, options);
  }

  delete<Path extends string, H extends Handler<PathParams<Path>>>(
    path: Path,
    handler: H,
    options: RouteOptions = {},
  ): H {
    return this.route("DELETE", path, handler, options);
  }

  head<Path extends string, H extends Handler<PathParams<Path>>>(
    path: Path,
    handler: H,
    options: RouteOptions = {},
  ): H {
    return this.route("HEAD", path, handler, options);
  }

  options<Path extends string, H extends Handler<PathParams<Path>>>(
    path: Path,
    handler: H,
    opts: RouteOptions = {},
  ): H {
    return this.route("OPTIONS", path, handler, opts);
  }

  any<Path extends string, H extends Handler<PathParams<Path>>>(
    path: Path,
    handler: H,
    options: RouteOptions = {},
  ): H {
    return this.route("*", path, handler, options);
  }

  view<Path extends string, V extends ViewClass<PathParams<Path>>>(
    path: Path,
    viewClass: V,
    options: RouteOptions = {},
  ): V {
    this.#defs.push(view(path, viewClass, options));
    return viewClass;
  }

  /** Static files under `prefix`; see `router.addStatic`. */
  static(prefix: string, directory: string | URL, options: StaticOptions = {}): void {
    this.#defs.push(staticRoute(prefix, directory, options));
  }

  get length(): number {
    return this.#defs.length;
  }

  [Symbol.iterator](): Iterator<RouteDef> {
    return this.#defs[Symbol.iterator]();
  }
}
