// Resources: a path pattern with the routes (one per method) registered on it. Plain paths
// compare as strings, variable paths through one compiled regular expression each, and
// sub-applications by prefix or by Host.

import { isToken } from "../../http/header-syntax.js";
import type { AnyApplication } from "../application.js";
import { HTTPMethodNotAllowed, HTTPNotFound } from "../exceptions.js";
import type { Request } from "../request.js";
import { kAddApp, kOnPathChange, kResolveMethod, kResolvePlain } from "../symbols.js";
import { MatchInfo } from "./match-info.js";
import { type ExpectHandler, type Handler, Route } from "./route.js";
import { decodeValue, encodePath, encodeSegment } from "./url-path.js";
import type { ViewClass } from "./view.js";

/** A path built by `urlFor`: `toString()` is the path, `withQuery` adds a query. */
export class URLBuilder {
  constructor(
    readonly path: string,
    readonly query: URLSearchParams = new URLSearchParams(),
  ) {}

  /** A copy with the query replaced. */
  withQuery(
    query: Record<string, string | number | boolean> | Iterable<readonly [string, string]> | string,
  ): URLBuilder {
    return new URLBuilder(this.path, toSearchParams(query));
  }

  /** A copy with pairs appended to the query. */
  extendQuery(
    query: Record<string, string | number | boolean> | Iterable<readonly [string, string]>,
  ): URLBuilder {
    const merged = new URLSearchParams(this.query);
    for (const [k, v] of toSearchParams(query)) merged.append(k, v);
    return new URLBuilder(this.path, merged);
  }

  toString(): string {
    const q = this.query.toString();
    return q === "" ? this.path : `${this.path}?${q}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

function toSearchParams(
  query: Record<string, string | number | boolean> | Iterable<readonly [string, string]> | string,
): URLSearchParams {
  if (typeof query === "string") return new URLSearchParams(query);
  if (Symbol.iterator in query)
    return new URLSearchParams(Array.from(query, ([k, v]) => [k, v] as [string, string]));
  return new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  );
}

/** Options of `urlFor`. */
export interface UrlForOptions {
  query?: Record<string, string | number | boolean> | Iterable<readonly [string, string]> | string;
}

/**
 * The outcome of asking one resource about a request: a match, the set of methods it would
 * allow (the path matched, the method did not), or `null` (the path did not match).
 */
export type ResourceResolution = MatchInfo | ReadonlySet<string> | null;

/** Base of every resource kind. */
export abstract class Resource {
  /** Name given at registration, for `router.named(name)`. */
  readonly name: string | null;
  /** Registration order, used to keep the first-registered-wins rule. */
  index = -1;
  /**
   * @internal set by the router holding the resource: its index is keyed by path, so a
   * prefix added when a sub-application is mounted (after its router froze) must rebuild it.
   */
  [kOnPathChange]: (() => void) | null = null;
  readonly #routes = new Map<string, Route>();
  #any: Route | undefined;

  constructor(name: string | null = null) {
    this.name = name;
  }

  /** The template as registered (`/users/{id}`), prefix included. */
  abstract get canonical(): string;

  /** The first path segment when it is literal, for the router's index; `null` otherwise. */
  abstract get firstSegment(): string | null;

  /** Matches the request. */
  abstract resolve(request: Request, path: string, method: string): ResourceResolution;

  /** Builds the URL of this resource from variable values. */
  abstract urlFor(
    params?: Readonly<Record<string, string | number>>,
    options?: UrlForOptions,
  ): URLBuilder;

  /** Moves the resource under a prefix (done when its application is mounted as a sub-application). */
  abstract addPrefix(prefix: string): void;

  /** Whether a route pattern is the same as this one (routes on the same path merge). */
  rawMatch(path: string): boolean {
    return this.canonical === path;
  }

  /** Adds a route for `method` (`"*"` for any). Registering a method twice is an error. */
  addRoute(
    method: string,
    handler: Handler | ViewClass,
    options: { expectHandler?: ExpectHandler } = {},
  ): Route {
    const m = method.toUpperCase();
    if (m !== "*" && !isToken(m)) {
      throw new TypeError(`Invalid HTTP method: ${JSON.stringify(method)}`);
    }
    if (this.#routes.has(m) || (m === "*" && this.#any !== undefined)) {
      throw new Error(
        `Added route will never be executed, method ${m} is already registered for ${this.canonical}`,
      );
    }
    const route = new Route(m, handler, this, options.expectHandler);
    if (m === "*") this.#any = route;
    else this.#routes.set(m, route);
    return route;
  }

  /** The routes of this resource, in registration order ("*" last). */
  get routes(): Route[] {
    const out = [...this.#routes.values()];
    if (this.#any !== undefined) out.push(this.#any);
    return out;
  }

  /** The route serving `method`, if any. */
  routeFor(method: string): Route | undefined {
    return this.#routes.get(method) ?? this.#any;
  }

  /** Methods served, upper-case. */
  get allowedMethods(): ReadonlySet<string> {
    const set = new Set(this.#routes.keys());
    if (this.#any !== undefined) set.add("*");
    return set;
  }

  /** @internal route lookup after the path matched: a match or the allowed methods */
  protected [kResolveMethod](
    method: string,
    params: Readonly<Record<string, string>>,
  ): MatchInfo | ReadonlySet<string> {
    const route = this.#routes.get(method) ?? this.#any;
    return route === undefined ? this.allowedMethods : new MatchInfo(params, route);
  }

  toString(): string {
    const name = this.name === null ? "" : ` '${this.name}'`;
    return `<${this.constructor.name}${name} ${this.canonical}>`;
  }
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

function firstLiteralSegment(path: string): string | null {
  const end = path.indexOf("/", 1);
  const seg = end === -1 ? path.slice(1) : path.slice(1, end);
  return seg.includes("{") ? null : seg;
}

function checkPath(path: string): void {
  if (path !== "" && !path.startsWith("/")) {
    throw new TypeError(`Route path should start with "/": ${JSON.stringify(path)}`);
  }
}

/** A path without variables: `/about`. */
export class PlainResource extends Resource {
  #path: string;

  constructor(path: string, name: string | null = null) {
    super(name);
    checkPath(path);
    this.#path = path;
  }

  get canonical(): string {
    return this.#path;
  }

  get firstSegment(): string | null {
    return firstLiteralSegment(this.#path);
  }

  resolve(_request: Request, path: string, method: string): ResourceResolution {
    return path === this.#path ? this[kResolveMethod](method, EMPTY) : null;
  }

  /** @internal the router's O(1) path */
  [kResolvePlain](method: string): MatchInfo | ReadonlySet<string> {
    return this[kResolveMethod](method, EMPTY);
  }

  urlFor(
    _params?: Readonly<Record<string, string | number>>,
    options: UrlForOptions = {},
  ): URLBuilder {
    const url = new URLBuilder(encodePath(this.#path));
    return options.query === undefined ? url : url.withQuery(options.query);
  }

  addPrefix(prefix: string): void {
    this.#path = prefix + this.#path;
    this[kOnPathChange]?.();
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A variable of a route template; `slashes` when its regex can match across segments,
 * `groups` the capturing groups inside the user's regex (they shift the variables' indexes).
 */
interface TemplateVar {
  name: string;
  regex: string | null;
  slashes: boolean;
  groups: number;
}

/** Parses a template into literal text and variables; throws on a malformed one. */
function parseTemplate(path: string): Array<string | TemplateVar> {
  const parts: Array<string | TemplateVar> = [];
  let i = 0;
  let literal = "";
  while (i < path.length) {
    const ch = path[i] as string;
    if (ch === "}") throw new TypeError(`Bad pattern segment in ${JSON.stringify(path)}`);
    if (ch !== "{") {
      literal += ch;
      i++;
      continue;
    }
    // Find the matching brace, allowing balanced braces inside a regex (`{id:\d{2}}`).
    let depth = 1;
    let j = i + 1;
    while (j < path.length && depth > 0) {
      if (path[j] === "\\") j++;
      else if (path[j] === "{") depth++;
      else if (path[j] === "}") depth--;
      j++;
    }
    if (depth !== 0) throw new TypeError(`Unbalanced braces in route ${JSON.stringify(path)}`);
    const inner = path.slice(i + 1, j - 1);
    const colon = inner.indexOf(":");
    const name = colon === -1 ? inner : inner.slice(0, colon);
    const regex = colon === -1 ? null : inner.slice(colon + 1);
    if (!IDENT.test(name)) {
      throw new TypeError(
        `Bad variable name ${JSON.stringify(name)} in route ${JSON.stringify(path)}`,
      );
    }
    if (regex === "") throw new TypeError(`Empty regex for {${name}} in ${JSON.stringify(path)}`);
    if (parts.some((p) => typeof p !== "string" && p.name === name)) {
      throw new TypeError(`Duplicate variable {${name}} in route ${JSON.stringify(path)}`);
    }
    if (literal) parts.push(literal);
    literal = "";
    let slashes = false;
    let groups = 0;
    if (regex !== null) {
      try {
        slashes = new RegExp(`^(?:${regex})$`, "s").test("a/b");
        // An alternative that matches "" always succeeds, so the result length counts groups.
        groups = (new RegExp(`(?:${regex})|`).exec("") as RegExpExecArray).length - 1;
      } catch (err) {
        throw new TypeError(`Bad regular expression in route ${JSON.stringify(path)}`, {
          cause: err,
        });
      }
    }
    parts.push({ name, regex, slashes, groups });
    i = j;
  }
  if (literal) parts.push(literal);
  return parts;
}

/**
 * The literal text before, between and after the variables of a template that can be matched
 * segment by segment (see DynamicResource's `#matchSegments`), else `null`.
 */
function segmentLiterals(parts: ReadonlyArray<string | TemplateVar>): string[] | null {
  const literals = [""];
  for (const part of parts) {
    if (typeof part === "string") {
      literals[literals.length - 1] += part;
      continue;
    }
    if (part.regex !== null) return null;
    // A variable ends at a `/`: the text after it must start there (or be the end).
    const before = literals[literals.length - 1] as string;
    if (literals.length > 1 && before !== "" && !before.startsWith("/")) return null;
    if (literals.length > 1 && before === "") return null;
    literals.push("");
  }
  const last = literals[literals.length - 1] as string;
  if (literals.length > 1 && last !== "" && !last.startsWith("/")) return null;
  return literals;
}

/**
 * `text` as V8's one shared copy of it, the form property names take: a key made by `slice()`
 * is looked up in V8's string table again on every keyed store.
 */
function internalized(text: string): string {
  return Object.keys({ [text]: 0 })[0] as string;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** A path with variables: `/users/{id}`, `/users/{id:\d+}`, `/files/{path:.*}`. */
export class DynamicResource extends Resource {
  #template: string;
  #parts: Array<string | TemplateVar>;
  #pattern!: RegExp;
  #names: string[] = [];
  // Index of each variable's capturing group; numbered groups avoid building `m.groups`.
  #groupIndex: number[] = [];
  // The literal text before the first variable: a `startsWith` rejects most paths before the
  // regex runs, which keeps a bucket of sibling routes cheap to scan.
  #literalPrefix = "";
  /**
   * When every variable takes the default pattern (one whole segment) and is followed by a `/`
   * or the end, the literal text around the variables (one more than the variables): such a
   * path is matched segment by segment, without the regex and its match array.
   */
  #literals: string[] | null = null;

  constructor(path: string, name: string | null = null) {
    super(name);
    checkPath(path);
    this.#template = path;
    this.#parts = parseTemplate(path);
    this.#compile();
  }

  #compile(): void {
    const names: string[] = [];
    const groupIndex: number[] = [];
    let source = "^";
    let group = 1;
    let prefix = "";
    let seenVar = false;
    for (const part of this.#parts) {
      if (typeof part === "string") {
        source += escapeRegex(part);
        if (!seenVar) prefix += part;
        continue;
      }
      seenVar = true;
      // As V8 keeps property names: each match stores its params under these.
      names.push(internalized(part.name));
      groupIndex.push(group);
      group += 1 + part.groups;
      source += `(${part.regex ?? "[^{}/]+"})`;
    }
    try {
      // dotAll: `.` in a variable's regex means any character, line separators (%E2%80%A8,
      // decoded) included; without it `{path:.*}` would refuse such a tail.
      this.#pattern = new RegExp(`${source}$`, "s");
    } catch (err) {
      throw new TypeError(`Bad regular expression in route ${JSON.stringify(this.#template)}`, {
        cause: err,
      });
    }
    this.#names = names;
    this.#groupIndex = groupIndex;
    this.#literalPrefix = prefix;
    this.#literals = segmentLiterals(this.#parts);
  }

  get canonical(): string {
    return this.#template;
  }

  /** The compiled pattern. */
  get pattern(): RegExp {
    return this.#pattern;
  }

  get firstSegment(): string | null {
    return firstLiteralSegment(this.#template);
  }

  resolve(_request: Request, path: string, method: string): ResourceResolution {
    if (!path.startsWith(this.#literalPrefix)) return null;
    if (this.#literals !== null) {
      const params = this.#matchSegments(path, this.#literals);
      return params === null ? null : this[kResolveMethod](method, params);
    }
    const m = this.#pattern.exec(path);
    if (m === null) return null;
    const names = this.#names;
    const index = this.#groupIndex;
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) {
      // A variable's group always takes part in a match (it is not optional in the template).
      params[names[i] as string] = decodeValue(m[index[i] as number] as string);
    }
    return this[kResolveMethod](method, params);
  }

  /**
   * What the pattern's regex would capture, found without it: each variable is the text up to
   * the next `/` (or the end), not empty and without braces (`[^{}/]+`), and the literal after
   * it follows. `path` starts with the literal prefix.
   */
  #matchSegments(path: string, literals: string[]): Record<string, string> | null {
    const names = this.#names;
    const params: Record<string, string> = {};
    let pos = (literals[0] as string).length;
    for (let i = 0; i < names.length; i++) {
      let end = pos;
      for (; end < path.length; end++) {
        const c = path.charCodeAt(end);
        if (c === 0x2f /* / */) break;
        if (c === 0x7b /* { */ || c === 0x7d /* } */) return null;
      }
      if (end === pos) return null;
      const after = literals[i + 1] as string;
      if (after !== "" && !path.startsWith(after, end)) return null;
      params[names[i] as string] = decodeValue(path.slice(pos, end));
      pos = end + after.length;
    }
    return pos === path.length ? params : null;
  }

  /** Whether a concrete path would match this resource's pattern. */
  matchesPath(path: string): boolean {
    return path.startsWith(this.#literalPrefix) && this.#pattern.test(path);
  }

  urlFor(
    params: Readonly<Record<string, string | number>> = {},
    options: UrlForOptions = {},
  ): URLBuilder {
    let path = "";
    for (const part of this.#parts) {
      if (typeof part === "string") {
        path += encodePath(part);
        continue;
      }
      const value = params[part.name];
      if (value === undefined) {
        throw new TypeError(`Missing value for {${part.name}} in ${this.#template}`);
      }
      const text = String(value);
      // A variable that may hold slashes keeps them; a plain one encodes them.
      path += part.slashes ? encodePath(text) : encodeSegment(text);
    }
    const url = new URLBuilder(path);
    return options.query === undefined ? url : url.withQuery(options.query);
  }

  addPrefix(prefix: string): void {
    this.#template = prefix + this.#template;
    this.#parts.unshift(prefix);
    this.#compile();
    this[kOnPathChange]?.();
  }
}

/** Routes a path prefix to a sub-application (`app.addSubapp("/admin/", admin)`). */
export class PrefixedSubAppResource extends Resource {
  #prefix: string;
  readonly app: AnyApplication;

  constructor(prefix: string, app: AnyApplication) {
    super(null);
    this.#prefix = normalizePrefix(prefix);
    this.app = app;
    for (const resource of app.router.resources()) resource.addPrefix(this.#prefix);
  }

  get canonical(): string {
    return this.#prefix;
  }

  get firstSegment(): string | null {
    return firstLiteralSegment(this.#prefix);
  }

  override addRoute(): Route {
    throw new Error(
      "Cannot add a route to a sub-application resource; add it to the sub-application",
    );
  }

  resolve(request: Request, path: string, _method: string): ResourceResolution {
    if (!(path === this.#prefix || path.startsWith(`${this.#prefix}/`))) return null;
    return resolveInSubapp(this.app, request);
  }

  urlFor(): URLBuilder {
    throw new Error("A sub-application has no URL of its own; use its named resources");
  }

  addPrefix(prefix: string): void {
    this.#prefix = prefix + this.#prefix;
    for (const resource of this.app.router.resources()) resource.addPrefix(prefix);
    this[kOnPathChange]?.();
  }
}

/** Routes requests for a host (`api.example.com`, `*.example.com`) to a sub-application. */
export class DomainResource extends Resource {
  readonly domain: string;
  readonly app: AnyApplication;
  #match: (host: string) => boolean;

  constructor(domain: string, app: AnyApplication) {
    super(null);
    this.domain = domain.toLowerCase();
    this.app = app;
    this.#match = compileDomain(this.domain);
  }

  get canonical(): string {
    return this.domain;
  }

  get firstSegment(): string | null {
    return null;
  }

  override addRoute(): Route {
    throw new Error("Cannot add a route to a domain resource; add it to the sub-application");
  }

  resolve(request: Request, _path: string, _method: string): ResourceResolution {
    if (!this.#match(request.host.toLowerCase())) return null;
    return resolveInSubapp(this.app, request);
  }

  urlFor(): URLBuilder {
    throw new Error("A domain has no URL of its own; use the sub-application's named resources");
  }

  addPrefix(prefix: string): void {
    for (const resource of this.app.router.resources()) resource.addPrefix(prefix);
  }
}

function resolveInSubapp(app: AnyApplication, request: Request): MatchInfo {
  const result = app.router.resolve(request);
  if (result instanceof Promise) {
    throw new TypeError("A sub-application's router must resolve synchronously");
  }
  result[kAddApp](app);
  return result;
}

function normalizePrefix(prefix: string): string {
  checkPath(prefix);
  const trimmed = prefix.replace(/\/+$/, "");
  if (trimmed === "") throw new TypeError("A sub-application prefix cannot be empty or '/'");
  if (trimmed.includes("{")) throw new TypeError("A sub-application prefix cannot have variables");
  return trimmed;
}

/** Host rules: an exact name, with or without port, or `*.example.com` for any subdomain. */
function compileDomain(domain: string): (host: string) => boolean {
  if (!domain || domain.includes("/"))
    throw new TypeError(`Invalid domain ${JSON.stringify(domain)}`);
  if (domain.startsWith("*.")) {
    const suffix = domain.slice(1);
    return (host) => {
      const name = host.replace(/:\d+$/, "");
      return name.endsWith(suffix) && name.length > suffix.length;
    };
  }
  const hasPort = /:\d+$/.test(domain);
  return (host) => (hasPort ? host === domain : host.replace(/:\d+$/, "") === domain);
}

/** Builds the `MatchInfo` for a failed lookup. */
export function notFoundMatch(method: string, allowed: ReadonlySet<string>): MatchInfo {
  if (allowed.size > 0) {
    return new MatchInfo(EMPTY, null, new HTTPMethodNotAllowed(method, allowed));
  }
  return new MatchInfo(EMPTY, null, new HTTPNotFound());
}
