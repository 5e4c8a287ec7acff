// The session's HTTP cache (RFC 9111) and request de-duplication: undici's `cache` and
// `deduplicate` interceptors over its cache stores, composed around the connector's pool for
// the session's requests. Nothing here decides freshness: undici's interceptor does.

import type { IncomingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import type { Dispatcher, interceptors } from "undici";
import type { AttemptInfo } from "./attempt.js";
import { ClientOptionError } from "./errors.js";
import { undici } from "./lazy-deps.js";
import { checkOptions, type OptionNames } from "./option-check.js";

/** A cache store: undici's `MemoryCacheStore`, `SqliteCacheStore`, or your own. */
export type CacheStore = NonNullable<UndiciCacheOptions["store"]>;

/** Methods whose responses may be cached (the safe ones). */
export type CacheMethod = NonNullable<UndiciCacheOptions["methods"]>[number];

type UndiciCacheOptions = NonNullable<Parameters<typeof interceptors.cache>[0]>;

/** Options of a session's `cache`. */
export interface CacheOptions {
  /**
   * Where responses are kept: `"memory"` (undici's `MemoryCacheStore`), `"sqlite"` (an
   * in-memory SQLite database) or a file path (a persistent SQLite database), both through
   * undici's `SqliteCacheStore`, which needs `node:sqlite` (Node 22.5+); or a store object of
   * your own, used as is (`maxSize` and `maxEntrySize` do not apply to it).
   * @default "memory"
   */
  store?: "memory" | "sqlite" | (string & {}) | CacheStore;
  /** Most bytes the memory store holds in all (older entries go first). @default 100 MiB */
  maxSize?: number;
  /** A response body larger than this, bytes, is not stored. @default 5 MiB (at most `maxSize`) */
  maxEntrySize?: number;
  /** Methods whose responses are cached; unsafe methods are never cached. @default ["GET"] */
  methods?: readonly CacheMethod[];
  /**
   * Behave as a shared cache (a proxy's): `private` responses and responses to requests with
   * `Authorization` (unless marked `public`, `s-maxage` or `must-revalidate`) are not stored,
   * and `s-maxage` counts. A client is a private cache. @default false
   */
  shared?: boolean;
}

const CACHE_OPTION_NAMES = {
  store: true,
  maxSize: true,
  maxEntrySize: true,
  methods: true,
  shared: true,
} as const satisfies OptionNames<CacheOptions>;

const MEMORY_MAX_SIZE = 100 * 1024 * 1024;
const MEMORY_MAX_ENTRY_SIZE = 5 * 1024 * 1024;

/**
 * The interceptors a session puts around the connector's pool. De-duplication sits inside the
 * cache: identical requests the cache cannot answer go out once, and each still learns that
 * the server was reached (`fromCache` false).
 */
export interface SessionLayers {
  readonly cache: Dispatcher.DispatcherComposeInterceptor | undefined;
  readonly dedupe: Dispatcher.DispatcherComposeInterceptor | undefined;
}

/** The session's layers for its `cache` and `dedupe` options; `undefined` without either. */
export function sessionLayers(
  cache: boolean | CacheOptions | undefined,
  dedupe: boolean | undefined,
): SessionLayers | undefined {
  if ((cache === undefined || cache === false) && dedupe !== true) return undefined;
  return {
    cache: cache === undefined || cache === false ? undefined : cacheInterceptor(cache),
    dedupe: dedupe === true ? undici().interceptors.deduplicate({ methods: ["GET"] }) : undefined,
  };
}

function cacheInterceptor(cache: true | CacheOptions): Dispatcher.DispatcherComposeInterceptor {
  const options = cache === true ? {} : cache;
  checkOptions("ClientSession cache", options, CACHE_OPTION_NAMES);
  return undici().interceptors.cache({
    store: makeStore(options),
    methods: [...(options.methods ?? ["GET"])],
    // RFC 9111 3.5 / 5.2.2.7: a client's cache is private; what only shared caches refuse
    // (private, Authorization) is stored unless asked otherwise.
    type: options.shared === true ? "shared" : "private",
  });
}

/**
 * The dispatch chain of one request through the session's layers, innermost first: `info`
 * learns whether the request got past the cache (its `sent`).
 */
export function layerChain(
  layers: SessionLayers,
  info: AttemptInfo,
): Dispatcher.DispatcherComposeInterceptor[] {
  const chain: Dispatcher.DispatcherComposeInterceptor[] = [];
  if (layers.dedupe !== undefined) chain.push(layers.dedupe);
  chain.push(reachedInterceptor(info));
  if (layers.cache !== undefined) chain.push(layers.cache);
  return chain;
}

function makeStore(options: CacheOptions): CacheStore {
  const store = options.store ?? "memory";
  if (typeof store !== "string") return store;
  if (store === "memory") {
    const maxSize = checkBytes("maxSize", options.maxSize ?? MEMORY_MAX_SIZE);
    const maxEntrySize = checkBytes(
      "maxEntrySize",
      options.maxEntrySize ?? Math.min(MEMORY_MAX_ENTRY_SIZE, maxSize),
    );
    return new (undici().cacheStores.MemoryCacheStore)({ maxSize, maxEntrySize });
  }
  // Node 20 has no node:sqlite (22.5-22.12 only behind --experimental-sqlite).
  if (process.getBuiltinModule("node:sqlite") === undefined) {
    throw new ClientOptionError(
      "store",
      `cache store ${JSON.stringify(store)} needs node:sqlite (Node 22.5+), not in Node ${process.versions.node}: use store "memory" or a store object`,
    );
  }
  return new (undici().cacheStores.SqliteCacheStore)({
    location: store === "sqlite" ? ":memory:" : store,
    ...(options.maxEntrySize === undefined
      ? {}
      : { maxEntrySize: checkBytes("maxEntrySize", options.maxEntrySize) }),
  });
}

function checkBytes(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ClientOptionError(name, `cache ${name} must be a size in bytes >= 0, got ${value}`);
  }
  return value;
}

/**
 * The interceptor just inside the session's cache, for one request: marks `info` when the
 * request goes on towards the server, i.e. when the cache did not answer it alone, and when
 * the server answered a revalidation with 304.
 */
function reachedInterceptor(info: AttemptInfo): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    // A stale-while-revalidate hit is answered first, then revalidated in the background: the
    // server was not reached for the answer.
    if (info.answered) return dispatch(opts, handler);
    info.sent = true;
    return dispatch(opts, new ServerAnswerWatch(handler, info));
  };
}

/** Passes everything on to the cache's handler, noting a 304 from the server on the way. */
class ServerAnswerWatch implements Dispatcher.DispatchHandler {
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #info: AttemptInfo;

  constructor(inner: Dispatcher.DispatchHandler, info: AttemptInfo) {
    this.#inner = inner;
    this.#info = info;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.#inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode === 304) this.#info.revalidated = true;
    this.#inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.#inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.#inner.onResponseError?.(controller, error);
  }
}

/**
 * undici marks every answer it revalidated with `Warning: 110` ("response is stale"), though a
 * 304 made it fresh again (its own TODO; RFC 9111 also retired `Warning`).
 */
export const STALE_WARNING = '110 - "response is stale"';
