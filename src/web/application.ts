// The web application (aiohttp's web.Application): router, middlewares, typed state, signals
// and sub-applications. It freezes when it starts; after that its routes cannot change.

import { type HTTPException, HTTPException as HTTPExceptionClass } from "./exceptions.js";
import { type FormLimits, type ResolvedFormLimits, resolveFormLimits } from "./form/form-limits.js";
import type { TrustProxy } from "./forwarded.js";
import { type AppKey, StateKeyError, StateStore } from "./keys.js";
import type { Request } from "./request.js";
import { DEFAULT_MAX_DECOMPRESS_SIZE } from "./request-decoding.js";
import type { StreamResponse } from "./response.js";
import type { MatchInfo } from "./router/match-info.js";
import { DomainResource, PrefixedSubAppResource, type Resource } from "./router/resource.js";
import type { Handler, HandlerResult, Route } from "./router/route.js";
import { type AbstractRouter, UrlDispatcher } from "./router/url-dispatcher.js";
import { kAddApp, kHandle, kHasExpect, kSetCurrentApp, kSetMatchInfo } from "./symbols.js";

/** An application with any router: what sub-application and request plumbing accept. */
// biome-ignore lint/suspicious/noExplicitAny: the router type is irrelevant where any app is accepted
export type AnyApplication = Application<any>;

/**
 * A composed middleware chain. It gives back what the outermost layer returned, an HTTP
 * exception included, and is synchronous as long as every layer is.
 */
type Chain = (request: Request) => HandlerResult | Promise<HandlerResult>;

/** What a middleware calls to run the rest of the chain. */
export type NextHandler = (request: Request) => Promise<StreamResponse>;

/**
 * A middleware: gets the request and the rest of the chain, returns the response (or an
 * HTTP exception to answer with). The application's are outermost, first listed first.
 */
export type Middleware = (
  request: Request,
  handler: NextHandler,
) => Promise<StreamResponse | HTTPException> | StreamResponse | HTTPException;

/** Where the application logs unexpected errors. */
export interface Logger {
  error(message: string, ...args: unknown[]): void;
  warn?(message: string, ...args: unknown[]): void;
  info?(message: string, ...args: unknown[]): void;
  debug?(message: string, ...args: unknown[]): void;
}

/** Errors and warnings go to the console; debug and info, as in Python's default set-up, nowhere. */
const DEFAULT_LOGGER: Logger = {
  error: (message, ...args) => console.error(message, ...args),
  warn: (message, ...args) => console.warn(message, ...args),
};

/** A startup, shutdown or cleanup callback. */
export type AppSignalHandler = (app: AnyApplication) => unknown | Promise<unknown>;
/** An `onResponsePrepare` callback: may still change the response's headers. */
export type ResponsePrepareHandler = (
  request: Request,
  response: StreamResponse,
) => unknown | Promise<unknown>;
/**
 * A cleanup context: runs until its first `yield` at startup, the rest at cleanup.
 * `async function* db(app) { app.set(dbKey, await connect()); yield; await app.get(dbKey).close(); }`
 */
export type CleanupContext = (app: AnyApplication) => AsyncGenerator<unknown, unknown, unknown>;

/** Thrown when something is changed on a frozen application. */
export class FrozenAppError extends Error {
  override readonly name = "FrozenAppError";
  readonly code = "AIOHTTP_APP_FROZEN";
}

/**
 * A list of callbacks that can no longer change once the application has started
 * (aiohttp's `Signal`). Use it like an array: `app.onStartup.push(fn)`.
 */
export class Signal<F extends (...args: never[]) => unknown> implements Iterable<F> {
  #items: F[] = [];
  #frozen = false;

  constructor(readonly name: string) {}

  /** Appends callbacks; throws once frozen. */
  push(...fns: F[]): number {
    this.#check();
    for (const fn of fns) {
      if (typeof fn !== "function") throw new TypeError(`${this.name} callbacks must be functions`);
    }
    return this.#items.push(...fns);
  }

  /** Inserts callbacks at the front; throws once frozen. */
  unshift(...fns: F[]): number {
    this.#check();
    return this.#items.unshift(...fns);
  }

  /** Removes a callback; throws once frozen. */
  remove(fn: F): boolean {
    this.#check();
    const i = this.#items.indexOf(fn);
    if (i !== -1) this.#items.splice(i, 1);
    return i !== -1;
  }

  get length(): number {
    return this.#items.length;
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  freeze(): void {
    this.#frozen = true;
  }

  /** Calls every callback in order, awaiting each. */
  async send(...args: Parameters<F>): Promise<void> {
    for (const fn of this.#items) await fn(...args);
  }

  [Symbol.iterator](): Iterator<F> {
    return this.#items[Symbol.iterator]();
  }

  #check(): void {
    if (this.#frozen)
      throw new FrozenAppError(
        `Cannot modify ${this.name}: the application has started (it is frozen)`,
      );
  }
}

/** Options of `Application`. */
export interface ApplicationOptions {
  /** Middlewares, outermost first. */
  middlewares?: Iterable<Middleware>;
  /**
   * Largest body `request.read()`/`text()`/`json()`/`post()` accept, in bytes (0: no limit);
   * for a multipart form, all fields and files together. @default 1048576
   */
  clientMaxSize?: number;
  /**
   * Limits of `request.post()` forms besides their total size (`clientMaxSize`).
   * @default {} (every limit at its default, see `FormLimits`)
   */
  formLimits?: FormLimits;
  /**
   * Most decompressed bytes of a request body sent with `Content-Encoding`, read through
   * `request.content` (more is a 413; 0: no limit). The buffered reads (`read()`, `text()`,
   * `json()`, `post()`) stop at `clientMaxSize` instead, or at this limit when that is 0.
   * @default 33554432 (32 MiB, the value of aiohttp 3.12's `DEFAULT_MAX_DECOMPRESS_SIZE`)
   */
  maxDecompressSize?: number;
  /** Extra arguments for `runApp`'s handler factory (kept for aiohttp parity). */
  handlerArgs?: Readonly<Record<string, unknown>>;
  /**
   * Where unexpected errors are logged. The default writes errors and warnings to the console
   * and drops debug and info messages (a bad request from a client is not worth a line).
   * @default console's `error` and `warn`
   */
  logger?: Logger;
  /**
   * Believe `Forwarded` / `X-Forwarded-For/-Host/-Proto` for `request.remote`, `host` and
   * `scheme`: `true` for every hop, a number for that many hops from this server, or a function
   * asked about each hop's address, nearest first. @default false (the headers are ignored)
   */
  trustProxy?: TrustProxy;
  /**
   * Debug mode (aiohttp's `Application(debug=...)`): warns, once per route, about changes to a
   * response after `prepare()` sent its head, which are ignored. Read from the application
   * that is served; sub-applications follow it. @default false
   */
  debug?: boolean;
}

/** Options of an application with a custom router. */
export interface ApplicationOptionsWithRouter<R extends AbstractRouter> extends ApplicationOptions {
  /** A router to use instead of a `UrlDispatcher`. */
  router: R;
}

/**
 * A web application. `R` is the router's type: a `UrlDispatcher` unless another router is
 * plugged in with `new Application({ router })`.
 */
export class Application<R extends AbstractRouter = UrlDispatcher> {
  readonly router: R;
  readonly logger: Logger;
  readonly handlerArgs: Readonly<Record<string, unknown>>;
  /** Which proxies' forwarding headers are believed; see `ApplicationOptions.trustProxy`. */
  readonly trustProxy: TrustProxy;
  /** Debug mode; see `ApplicationOptions.debug`. */
  readonly debug: boolean;
  /** Runs when the application starts, before it serves; sub-applications' run with it. */
  readonly onStartup = new Signal<AppSignalHandler>("onStartup");
  /** Runs when the server stops accepting, before in-flight requests finish. */
  readonly onShutdown = new Signal<AppSignalHandler>("onShutdown");
  /** Runs last, after connections are closed. */
  readonly onCleanup = new Signal<AppSignalHandler>("onCleanup");
  /** Runs before each response's headers are sent. */
  readonly onResponsePrepare = new Signal<ResponsePrepareHandler>("onResponsePrepare");
  /** Cleanup contexts: set-up before `yield` at startup, tear-down after it at cleanup. */
  readonly cleanupCtx = new Signal<CleanupContext>("cleanupCtx");

  #middlewares: Middleware[];
  #clientMaxSize: number;
  readonly #formLimits: ResolvedFormLimits;
  readonly #maxDecompressSize: number;
  #state: StateStore<AppKey<unknown>>;
  #parent: AnyApplication | null = null;
  #subapps: AnyApplication[] = [];
  #frozen = false;
  #preFrozen = false;
  /** Inside `startup()` or `cleanup()`, where state may still change. */
  #inLifecycle = false;
  #running: AsyncGenerator<unknown, unknown, unknown>[] = [];
  #chains = new WeakMap<object, Chain>();

  constructor(
    ...args: R extends UrlDispatcher
      ? [options?: ApplicationOptions]
      : [options: ApplicationOptionsWithRouter<R>]
  );
  constructor(options: ApplicationOptions & { router?: R } = {}) {
    // Without a router option R is UrlDispatcher (the overload above enforces it).
    this.router = options.router ?? (new UrlDispatcher() as AbstractRouter as R);
    this.#middlewares = [...(options.middlewares ?? [])];
    for (const mw of this.#middlewares) checkMiddleware(mw);
    const max = options.clientMaxSize ?? 1024 ** 2;
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`Invalid clientMaxSize ${max}`);
    this.#clientMaxSize = max;
    this.#formLimits = resolveFormLimits(options.formLimits);
    const maxDecompress = options.maxDecompressSize ?? DEFAULT_MAX_DECOMPRESS_SIZE;
    if (!Number.isSafeInteger(maxDecompress) || maxDecompress < 0) {
      throw new RangeError(`Invalid maxDecompressSize ${maxDecompress}`);
    }
    this.#maxDecompressSize = maxDecompress;
    this.handlerArgs = options.handlerArgs ?? {};
    this.logger = options.logger ?? DEFAULT_LOGGER;
    this.trustProxy = options.trustProxy ?? false;
    this.debug = options.debug ?? false;
    this.#state = new StateStore(() => (this.#parent === null ? undefined : this.#parent.#state));
    this.onStartup.push(() => this.#startCleanupCtx());
    this.onCleanup.push(() => this.#stopCleanupCtx());
  }

  // ---- configuration -------------------------------------------------------------------

  /** Middlewares, outermost first. Mutable until the application starts. */
  get middlewares(): readonly Middleware[] {
    return this.#middlewares;
  }

  /** Adds a middleware (innermost so far). */
  addMiddleware(mw: Middleware): void {
    this.#checkFrozen("add a middleware");
    checkMiddleware(mw);
    this.#middlewares.push(mw);
  }

  /** The body size limit in bytes. */
  get clientMaxSize(): number {
    return this.#clientMaxSize;
  }

  /** The limits of `request.post()` forms, defaults filled in. */
  get formLimits(): ResolvedFormLimits {
    return this.#formLimits;
  }

  /** The cap on decompressed request bodies read as a stream, bytes (0: none). */
  get maxDecompressSize(): number {
    return this.#maxDecompressSize;
  }

  /** Whether the application has started. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** The application this one is mounted in, if any. */
  get parent(): AnyApplication | null {
    return this.#parent;
  }

  // ---- state ---------------------------------------------------------------------------

  /**
   * Stores typed state. Allowed until the application starts and while its startup and cleanup
   * callbacks run (a cleanup context stores the database pool it opened); not while serving.
   */
  set<T>(key: AppKey<T>, value: T): void {
    this.#checkState("set application state");
    this.#state.set(key as AppKey<unknown>, value);
  }

  /** Reads typed state; a sub-application falls back to its parents. */
  get<T>(key: AppKey<T>): T | undefined {
    return this.#state.get(key as AppKey<unknown>) as T | undefined;
  }

  /** Reads typed state and throws `StateKeyError` when it was never set. */
  require<T>(key: AppKey<T>): T {
    if (!this.#state.has(key as AppKey<unknown>)) throw new StateKeyError(key);
    return this.#state.get(key as AppKey<unknown>) as T;
  }

  has(key: AppKey<unknown>): boolean {
    return this.#state.has(key);
  }

  delete(key: AppKey<unknown>): boolean {
    this.#checkState("delete application state");
    return this.#state.delete(key);
  }

  // ---- sub-applications ----------------------------------------------------------------

  /**
   * Mounts `subapp` under `prefix`: its routes answer below it, its middlewares wrap only its
   * routes, its signals run with this application's.
   */
  addSubapp(prefix: string, subapp: AnyApplication): PrefixedSubAppResource {
    this.#adopt(subapp);
    const resource = new PrefixedSubAppResource(prefix, subapp);
    this.#register(resource);
    return resource;
  }

  /** Serves `subapp` for requests whose Host matches `domain` (`*.example.com` for any subdomain). */
  addDomain(domain: string, subapp: AnyApplication): DomainResource {
    this.#adopt(subapp);
    const resource = new DomainResource(domain, subapp);
    this.#register(resource);
    return resource;
  }

  #register(resource: Resource): void {
    if (this.router.registerResource === undefined) {
      throw new TypeError(
        "This application's router cannot hold sub-applications (no registerResource)",
      );
    }
    this.router.registerResource(resource);
  }

  #adopt(subapp: AnyApplication): void {
    this.#checkFrozen("add a sub-application");
    if (subapp === this) throw new Error("Cannot add an application to itself");
    if (subapp.#parent !== null || subapp.#preFrozen) {
      throw new Error("This application is already mounted elsewhere or running");
    }
    subapp.#parent = this;
    subapp.#preFreeze();
    this.#subapps.push(subapp);
    this.onStartup.push(() => subapp.startup());
    this.onShutdown.push(() => subapp.shutdown());
    this.onCleanup.push(() => subapp.cleanup());
  }

  // ---- lifecycle -----------------------------------------------------------------------

  #preFreeze(): void {
    if (this.#preFrozen) return;
    this.#preFrozen = true;
    this.router.freeze();
    for (const sub of this.#subapps) sub.#preFreeze();
  }

  /** Freezes routes, middlewares and signals; called when the application starts. */
  freeze(): void {
    if (this.#frozen) return;
    this.#preFreeze();
    this.#frozen = true;
    for (const s of [
      this.onStartup,
      this.onShutdown,
      this.onCleanup,
      this.onResponsePrepare,
      this.cleanupCtx,
    ]) {
      s.freeze();
    }
    Object.freeze(this.#middlewares);
    for (const sub of this.#subapps) sub.freeze();
  }

  /** Runs `onStartup` (cleanup contexts first, then sub-applications'). */
  async startup(): Promise<void> {
    this.freeze();
    this.#inLifecycle = true;
    try {
      await this.onStartup.send(this);
    } finally {
      this.#inLifecycle = false;
    }
  }

  /** Runs `onShutdown`. */
  async shutdown(): Promise<void> {
    await this.onShutdown.send(this);
  }

  /**
   * Runs `onCleanup`: first the cleanup contexts' tear-down (in reverse order of their
   * start-up), then the callbacks in the order they were added (sub-applications' where they
   * were mounted). Every step runs even if an earlier one throws; the errors are thrown
   * together afterwards.
   */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    this.#inLifecycle = true;
    for (const fn of this.onCleanup) {
      try {
        await fn(this);
      } catch (err) {
        errors.push(err);
      }
    }
    this.#inLifecycle = false;
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "Multiple errors on cleanup stage");
  }

  async #startCleanupCtx(): Promise<void> {
    for (const ctx of this.cleanupCtx) {
      const gen = ctx(this);
      const first = await gen.next();
      this.#running.push(gen);
      if (first.done) {
        this.#running.pop();
        throw new Error("A cleanup context must yield exactly once");
      }
    }
  }

  async #stopCleanupCtx(): Promise<void> {
    const errors: unknown[] = [];
    while (this.#running.length > 0) {
      const gen = this.#running.pop() as AsyncGenerator<unknown, unknown, unknown>;
      try {
        const r = await gen.next();
        if (!r.done) errors.push(new Error("A cleanup context has more than one yield"));
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "Multiple errors on cleanup stage");
  }

  // ---- request handling ----------------------------------------------------------------

  /**
   * @internal routes a request and runs middlewares and handler. Returns the response, or the
   * HTTP exception to answer with; other errors propagate to the server, which answers 500.
   */
  [kHandle](request: Request): HandlerResult | Promise<HandlerResult> {
    const resolved = this.router.resolve(request);
    if (resolved instanceof Promise) return resolved.then((mi) => this.#run(request, mi));
    return this.#run(request, resolved);
  }

  // Synchronous until the handler itself awaits: each avoided `async` layer is one promise
  // less per request on the hot path.
  #run(request: Request, mi: MatchInfo): HandlerResult | Promise<HandlerResult> {
    mi[kAddApp](this);
    request[kSetMatchInfo](mi);
    request[kSetCurrentApp](mi.currentApp);
    const route = mi.route;
    const key: object = route ?? (mi.apps[mi.apps.length - 1] as AnyApplication);
    let chain = this.#chains.get(key);
    if (chain === undefined) {
      chain = buildChain(mi.apps, route === null ? throwRoutingError : route.handler);
      this.#chains.set(key, chain);
    }
    if (route !== null && request[kHasExpect]) {
      return this.#expect(request, route, chain);
    }
    return chain(request);
  }

  async #expect(request: Request, route: Route, chain: Chain): Promise<HandlerResult> {
    const early = await route.expectHandler(request);
    return early ?? chain(request);
  }

  toString(): string {
    return `<Application with ${[...this.router.resources()].length} resources>`;
  }

  #checkFrozen(what: string): void {
    if (this.#frozen) {
      throw new FrozenAppError(`Cannot ${what}: the application has started (it is frozen)`);
    }
    if (this.#preFrozen) {
      throw new FrozenAppError(
        `Cannot ${what}: the application is mounted as a sub-application, which freezes it`,
      );
    }
  }

  #checkState(what: string): void {
    if (this.#frozen && !this.#inLifecycle) {
      throw new FrozenAppError(
        `Cannot ${what} while the application is serving; use a RequestKey for per-request state`,
      );
    }
  }
}

/** The handler of a failed lookup: throws the 404/405 that routing produced for this request. */
function throwRoutingError(request: Request): never {
  throw (
    request.matchResult?.httpException ?? new Error("Routing produced neither a route nor an error")
  );
}

function checkMiddleware(mw: unknown): void {
  if (typeof mw !== "function")
    throw new TypeError("A middleware must be a function (request, handler) => response");
}

function unwrap(result: HandlerResult | HTTPException): StreamResponse {
  if (result instanceof HTTPExceptionClass) throw result;
  return result as StreamResponse;
}

/**
 * Composes the middlewares of each application (root first) around the handler. A returned
 * HTTP exception is thrown, so middlewares see every error the same way.
 */
function buildChain(apps: readonly AnyApplication[], handler: Handler): Chain {
  // Without middlewares the handler is the chain: `#run` has already set `request.app`.
  if (apps.every((app) => app.middlewares.length === 0)) return handler;
  const innermost = apps[apps.length - 1] as AnyApplication;
  let next: Chain = withApp(innermost, handler);
  for (let a = apps.length - 1; a >= 0; a--) {
    const app = apps[a] as AnyApplication;
    const mws = app.middlewares;
    for (let m = mws.length - 1; m >= 0; m--) {
      const mw = mws[m] as Middleware;
      const inner = asNextHandler(next);
      next = withApp(app, (request) => mw(request, inner));
    }
  }
  return next;
}

/**
 * What a middleware gets as `handler`: always a promise, and an HTTP exception that the inner
 * handler returned is thrown, so middlewares see every error the same way.
 */
function asNextHandler(chain: Chain): NextHandler {
  return (request) => {
    try {
      const result = chain(request);
      return result instanceof Promise ? result.then(unwrap) : Promise.resolve(unwrap(result));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** Sets `request.app` to the application whose middleware (or handler) is about to run. */
function withApp(app: AnyApplication, fn: Chain): Chain {
  return (request) => {
    request[kSetCurrentApp](app);
    return fn(request);
  };
}
