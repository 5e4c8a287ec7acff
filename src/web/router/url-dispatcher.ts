// The default router (aiohttp's UrlDispatcher). Resources are tried in registration order,
// the first whose path and method match wins. Plain paths resolve through a map; variable
// paths are indexed by their first literal segment so only a few patterns run per lookup.

import type { Request } from "../request.js";
import type { MatchInfo } from "./match-info.js";
import type { PathParams } from "./path-params.js";
import {
  DynamicResource,
  notFoundMatch,
  PlainResource,
  type Resource,
  type ResourceResolution,
} from "./resource.js";
import type { ExpectHandler, Handler, Route, RouteOptions } from "./route.js";
import type { RouteDef } from "./route-def.js";
import type { ViewClass } from "./view.js";

/**
 * What an application needs from a router. Implement it to plug in another routing scheme;
 * `resolve` returns a `MatchInfo` whose `httpException` is set when nothing matched.
 */
export interface AbstractRouter {
  resolve(request: Request): MatchInfo | Promise<MatchInfo>;
  /** Called when the application starts; later registrations must throw. */
  freeze(): void;
  readonly frozen: boolean;
  /** Resources, for sub-application prefixes and introspection. */
  resources(): Iterable<Resource>;
  /** Adds a resource; needed to mount sub-applications and domains. */
  registerResource?(resource: Resource): void;
}

/** Options of `addGet`. */
export interface GetRouteOptions extends RouteOptions {
  /** Also answer HEAD with the same handler; @default true */
  allowHead?: boolean;
}

/** Thrown when routes change after the application started. */
export class FrozenRouterError extends Error {
  override readonly name = "FrozenRouterError";
  constructor() {
    super("Cannot change the router of an application that has started (it is frozen)");
  }
}

const NO_METHODS: ReadonlySet<string> = new Set();

/** The built-in router. */
export class UrlDispatcher implements AbstractRouter {
  #resources: Resource[] = [];
  #named = new Map<string, Resource>();
  #frozen = false;
  // Index, rebuilt lazily after registrations.
  #dirty = true;
  #plain = new Map<string, PlainResource>();
  #shadowed = new Set<PlainResource>();
  #buckets = new Map<string, Resource[]>();
  #wild: Resource[] = [];

  get frozen(): boolean {
    return this.#frozen;
  }

  freeze(): void {
    this.#frozen = true;
    this.#buildIndex();
  }

  // ---- registration -------------------------------------------------------------------

  /**
   * Adds (or reuses) the resource for `path`. Routes registered on the same path with the
   * same name share one resource.
   */
  addResource<Path extends string>(path: Path, options: { name?: string } = {}): Resource {
    this.#checkFrozen();
    const name = options.name ?? null;
    const existing = this.#resources.find(
      (r) =>
        r.name === name &&
        (r instanceof PlainResource || r instanceof DynamicResource) &&
        r.rawMatch(path),
    );
    if (existing !== undefined) return existing;
    const resource = path.includes("{")
      ? new DynamicResource(path, name)
      : new PlainResource(path, name);
    this.registerResource(resource);
    return resource;
  }

  /** Appends a resource of any kind (sub-application, domain, or a custom one). */
  registerResource(resource: Resource): void {
    this.#checkFrozen();
    const name = resource.name;
    if (name !== null) {
      if (!/^[A-Za-z_][\w.:-]*$/.test(name)) {
        throw new TypeError(
          `Incorrect route name ${JSON.stringify(name)}: use letters, digits, _ . : -`,
        );
      }
      if (this.#named.has(name)) {
        throw new Error(
          `Duplicate route name ${JSON.stringify(name)}, already used by ${this.#named.get(name)}`,
        );
      }
      this.#named.set(name, resource);
    }
    resource.index = this.#resources.length;
    this.#resources.push(resource);
    this.#dirty = true;
  }

  /** Adds a route for `method` (`"*"` for any method) on `path`. */
  addRoute<Path extends string>(
    method: string,
    path: Path,
    handler: Handler<PathParams<Path>> | ViewClass<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    const resource = this.addResource(
      path,
      options.name === undefined ? {} : { name: options.name },
    );
    return resource.addRoute(method, handler as Handler, expectOption(options.expectHandler));
  }

  /** GET (and HEAD unless `allowHead: false`). */
  addGet<Path extends string>(
    path: Path,
    handler: Handler<PathParams<Path>>,
    options: GetRouteOptions = {},
  ): Route {
    const resource = this.addResource(
      path,
      options.name === undefined ? {} : { name: options.name },
    );
    const expect = expectOption(options.expectHandler);
    if (options.allowHead !== false && resource.routeFor("HEAD")?.method !== "HEAD") {
      resource.addRoute("HEAD", handler as Handler, expect);
    }
    return resource.addRoute("GET", handler as Handler, expect);
  }

  addPost<Path extends string>(
    path: Path,
    handler: Handler<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    return this.addRoute("POST", path, handler, options);
  }

  addPut<Path extends string>(
    path: Path,
    handler: Handler<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    return this.addRoute("PUT", path, handler, options);
  }

  addPatch<Path extends string>(
    path: Path,
    handler: Handler<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    return this.addRoute("PATCH", path, handler, options);
  }

  addDelete<Path extends string>(
    path: Path,
    handler: Handler<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    return this.addRoute("DELETE", path, handler, options);
  }

  addHead<Path extends string>(
    path: Path,
    handler: Handler<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    return this.addRoute("HEAD", path, handler, options);
  }

  addOptions<Path extends string>(
    path: Path,
    handler: Handler<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    return this.addRoute("OPTIONS", path, handler, options);
  }

  /** Any method (`*`); specific methods registered on the same path win. */
  addAny<Path extends string>(
    path: Path,
    handler: Handler<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    return this.addRoute("*", path, handler, options);
  }

  /** A class-based view: its `get()`, `post()`... methods answer the verbs. */
  addView<Path extends string>(
    path: Path,
    view: ViewClass<PathParams<Path>>,
    options: RouteOptions = {},
  ): Route {
    return this.addRoute("*", path, view, options);
  }

  /** Registers route definitions from `web.get(...)`, `web.view(...)` or a `RouteTableDef`. */
  addRoutes(defs: Iterable<RouteDef>): Route[] {
    const out: Route[] = [];
    for (const def of defs) out.push(...def.register(this));
    return out;
  }

  // ---- lookup -------------------------------------------------------------------------

  /** Finds the route for a request; a failed lookup carries a 404 or 405 exception. */
  resolve(request: Request): MatchInfo {
    if (this.#dirty) this.#buildIndex();
    const path = request.path;
    const method = request.method;
    let allowed: Set<string> | undefined;
    let after = -1;
    const plain = this.#plain.get(path);
    if (plain !== undefined && !this.#shadowed.has(plain)) {
      const r = plain.resolvePlain(method);
      if (!isMethodSet(r)) return r as MatchInfo;
      allowed = new Set(r);
      after = plain.index;
    }
    const bucket = this.#buckets.get(firstSegment(path));
    const wild = this.#wild;
    let i = 0;
    let j = 0;
    const bn = bucket?.length ?? 0;
    const wn = wild.length;
    // Merge the two index-ordered lists so registration order holds across them.
    while (i < bn || j < wn) {
      let resource: Resource;
      if (j >= wn || (i < bn && (bucket as Resource[])[i]!.index < wild[j]!.index)) {
        resource = (bucket as Resource[])[i++]!;
      } else {
        resource = wild[j++]!;
      }
      if (resource.index <= after) continue;
      const r: ResourceResolution = resource.resolve(request, path, method);
      if (r === null) continue;
      if (!isMethodSet(r)) return r as MatchInfo;
      allowed ??= new Set();
      for (const m of r) allowed.add(m);
    }
    return notFoundMatch(method, allowed ?? NO_METHODS);
  }

  // ---- introspection ------------------------------------------------------------------

  /** The resource registered under `name`; throws when there is none. */
  named(name: string): Resource {
    const resource = this.#named.get(name);
    if (resource === undefined) throw new Error(`No route named ${JSON.stringify(name)}`);
    return resource;
  }

  /** Whether a resource is registered under `name`. */
  hasNamed(name: string): boolean {
    return this.#named.has(name);
  }

  /** Named resources. */
  namedResources(): ReadonlyMap<string, Resource> {
    return this.#named;
  }

  /** Every resource, in registration order. */
  resources(): Resource[] {
    return [...this.#resources];
  }

  /** Every route of every resource, in registration order. */
  routes(): Route[] {
    return this.#resources.flatMap((r) => r.routes);
  }

  #checkFrozen(): void {
    if (this.#frozen) throw new FrozenRouterError();
  }

  #buildIndex(): void {
    this.#plain.clear();
    this.#shadowed.clear();
    this.#buckets.clear();
    this.#wild = [];
    for (const resource of this.#resources) {
      if (resource instanceof PlainResource) this.#plain.set(resource.canonical, resource);
      const seg = resource.firstSegment;
      if (seg === null) {
        this.#wild.push(resource);
      } else {
        let list = this.#buckets.get(seg);
        if (list === undefined) this.#buckets.set(seg, (list = []));
        list.push(resource);
      }
    }
    // A plain path can take the map shortcut only if no earlier resource could match it.
    for (const plain of this.#plain.values()) {
      const path = plain.canonical;
      const earlier = [...(this.#buckets.get(firstSegment(path)) ?? []), ...this.#wild].filter(
        (r) => r.index < plain.index && !(r instanceof PlainResource),
      );
      if (earlier.some((r) => !(r instanceof DynamicResource) || r.matchesPath(path))) {
        this.#shadowed.add(plain);
      }
    }
    this.#dirty = false;
  }
}

function isMethodSet(r: ResourceResolution): r is ReadonlySet<string> {
  return r instanceof Set;
}

function firstSegment(path: string): string {
  const end = path.indexOf("/", 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

function expectOption(expectHandler: ExpectHandler | undefined): { expectHandler?: ExpectHandler } {
  return expectHandler === undefined ? {} : { expectHandler };
}
