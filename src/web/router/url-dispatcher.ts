// The default router (aiohttp's UrlDispatcher). Resources are tried in registration order,
// the first whose path and method match wins. Plain paths resolve through a map; variable
// paths are indexed by their first literal segment so only a few patterns run per lookup.
//
// The order rule, as aiohttp: a request goes to the first registered resource whose path
// matches and that has a route for the method. `/users/{id}` registered before `/users/me`
// takes `/users/me` too; register the plain path first to serve it separately. When a path
// matches but the method does not, later resources are still tried; if none serves the
// method the answer is 405 with every matching resource's methods in `Allow`.

import type { Request } from "../request.js";
import { kOnPathChange, kResolvePlain } from "../symbols.js";
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
import { type StaticOptions, StaticResource } from "./static-resource.js";
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
  readonly code = "AIOHTTP_ROUTER_FROZEN";
  constructor() {
    super("Cannot change the router of an application that has started (it is frozen)");
  }
}

const NO_METHODS: ReadonlySet<string> = new Set();

/** The built-in router. */
export class UrlDispatcher implements AbstractRouter {
  #resources: Resource[] = [];
  #named = new Map<string, Resource>();
  // Resources by template, so routes added on the same path find their resource in O(1).
  #byTemplate = new Map<string, Resource[]>();
  #frozen = false;
  // The lookup index, rebuilt lazily after a registration or a prefix change.
  #dirty = true;
  // The first plain resource of each path that no earlier resource can shadow.
  #plain = new Map<string, PlainResource>();
  // The lengths of those paths: a path of another length (most that name a variable) skips
  // the map, whose lookup would hash the request's fresh path string (about 60 ns).
  #plainLengths = new Set<number>();
  // By first literal segment: the resources with that segment merged in registration order
  // with those whose first segment is variable (`#wild`), so a lookup scans one list.
  #buckets = new Map<string, Resource[]>();
  #wild: Resource[] = [];
  #invalidate = (): void => {
    this.#dirty = true;
  };

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
    const existing = this.#byTemplate
      .get(path)
      ?.find(
        (r) =>
          r.name === name &&
          (r instanceof PlainResource || r instanceof DynamicResource) &&
          r.rawMatch(path),
      );
    if (existing !== undefined) return existing;
    // A stray "}" goes to the template parser too, which rejects it.
    const resource =
      path.includes("{") || path.includes("}")
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
    resource[kOnPathChange] = this.#invalidate;
    this.#resources.push(resource);
    const same = this.#byTemplate.get(resource.canonical);
    if (same === undefined) this.#byTemplate.set(resource.canonical, [resource]);
    else same.push(resource);
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
    // Widening the handler's matchInfo type is sound: this resource fills it from `path`.
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
    // Widening the handler's matchInfo type is sound: this resource fills it from `path`.
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

  /**
   * Serves the files under `directory` at `prefix/<filename>` (GET and HEAD). Nothing outside
   * the directory is reachable; see `StaticOptions` for listings, symlinks and versioned URLs.
   */
  addStatic(prefix: string, directory: string | URL, options: StaticOptions = {}): StaticResource {
    this.#checkFrozen();
    const resource = new StaticResource(prefix, directory, options);
    this.registerResource(resource);
    return resource;
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
    const plain = this.#plainLengths.has(path.length) ? this.#plain.get(path) : undefined;
    if (plain !== undefined) {
      const r = plain[kResolvePlain](method);
      if (!isMethodSet(r)) return r;
      // Only later resources can still serve the method: no earlier one matches this path.
      allowed = new Set(r);
      after = plain.index;
    }
    const list = this.#buckets.get(firstSegment(path)) ?? this.#wild;
    for (let i = 0; i < list.length; i++) {
      const resource = list[i];
      if (resource.index <= after) continue;
      const r: ResourceResolution = resource.resolve(request, path, method);
      if (r === null) continue;
      if (!isMethodSet(r)) return r;
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
    this.#byTemplate.clear();
    for (const resource of this.#resources) {
      const same = this.#byTemplate.get(resource.canonical);
      if (same === undefined) this.#byTemplate.set(resource.canonical, [resource]);
      else same.push(resource);
    }
    const literal = new Map<string, Resource[]>();
    const wild: Resource[] = [];
    for (const resource of this.#resources) {
      const seg = resource.firstSegment;
      if (seg === null) {
        wild.push(resource);
        continue;
      }
      const list = literal.get(seg);
      if (list === undefined) literal.set(seg, [resource]);
      else list.push(resource);
    }
    this.#wild = wild;
    this.#buckets.clear();
    for (const [seg, list] of literal) {
      this.#buckets.set(seg, mergeByIndex(list, wild));
    }
    // A plain path takes the map shortcut only if no earlier resource could match it (an
    // earlier `/users/{id}` shadows `/users/me`; sub-applications and custom resources are
    // assumed to). Of several plain resources on one path the first is the entry point.
    this.#plain.clear();
    this.#plainLengths.clear();
    for (const resource of this.#resources) {
      if (!(resource instanceof PlainResource)) continue;
      const path = resource.canonical;
      if (this.#plain.has(path)) continue;
      const candidates = this.#buckets.get(firstSegment(path)) ?? wild;
      const shadowed = candidates.some(
        (r) =>
          r.index < resource.index &&
          !(r instanceof PlainResource) &&
          (!(r instanceof DynamicResource) || r.matchesPath(path)),
      );
      // A shadowed path is left out; the bucket scan finds it in order.
      if (!shadowed) {
        this.#plain.set(path, resource);
        this.#plainLengths.add(path.length);
      }
    }
    this.#dirty = false;
  }
}

/** Merges two lists sorted by registration index. */
function mergeByIndex(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  const out: Resource[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].index < b[j].index)) {
      out.push(a[i++]);
    } else {
      out.push(b[j++]);
    }
  }
  return out;
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
