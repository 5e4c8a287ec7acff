// Built-in middlewares.

import type { Middleware } from "./application.js";
import { type HTTPMove, HTTPNotFound, HTTPPermanentRedirect } from "./exceptions.js";
import type { Request } from "./request.js";

/** Options of `normalizePathMiddleware`. */
export interface NormalizePathOptions {
  /** Try the path with a trailing slash added; @default true */
  appendSlash?: boolean;
  /** Try the path with the trailing slash removed; @default false */
  removeSlash?: boolean;
  /** Try the path with `//` runs merged into one `/`; @default true */
  mergeSlashes?: boolean;
  /** The redirect to answer with; @default HTTPPermanentRedirect (308, keeps the method) */
  redirectClass?: new (
    location: string,
  ) => HTTPMove;
}

/**
 * Redirects a request that found no route to a normalized path that has one (aiohttp's
 * `normalize_path_middleware`): `/a//b` to `/a/b`, `/a` to `/a/` (or the reverse). The query
 * is kept. Only applies when routing answered 404.
 */
export function normalizePathMiddleware(options: NormalizePathOptions = {}): Middleware {
  const {
    appendSlash = true,
    removeSlash = false,
    mergeSlashes = true,
    redirectClass = HTTPPermanentRedirect,
  } = options;
  if (appendSlash && removeSlash)
    throw new TypeError("appendSlash and removeSlash cannot both be true");
  return async (request, handler) => {
    if (!(request.matchResult?.httpException instanceof HTTPNotFound)) return handler(request);
    const path = request.rawPath;
    const candidates: string[] = [];
    const merged = mergeSlashes ? path.replace(/\/{2,}/g, "/") : path;
    if (mergeSlashes && merged !== path) candidates.push(merged);
    if (appendSlash && !path.endsWith("/")) {
      candidates.push(`${path}/`);
      if (mergeSlashes) candidates.push(`${merged}/`);
    } else if (removeSlash && path.endsWith("/") && path !== "/") {
      candidates.push(path.slice(0, -1));
      if (mergeSlashes && merged !== "/") candidates.push(merged.replace(/\/$/, ""));
    }
    const qs = request.queryString;
    for (const raw of candidates) {
      // A Location starting with `//` (or `/\`, which browsers read the same way) names
      // another host: `//evil.example/` must not become an open redirect (aiohttp's
      // CVE-2021-21330), so a leading run of slashes collapses to one.
      const candidate = raw.replace(/^[/\\]{2,}/, "/");
      if (candidate === path || !(await routes(request, candidate))) continue;
      throw new redirectClass(qs === "" ? candidate : `${candidate}?${qs}`);
    }
    return handler(request);
  };
}

async function routes(request: Request, path: string): Promise<boolean> {
  const clone = request.clone({ relUrl: path });
  // Resolve against the root application so sub-application prefixes are taken into account.
  const root = request.matchResult?.apps[0] ?? request.app;
  const match = await root.router.resolve(clone);
  return match.httpException === null;
}
