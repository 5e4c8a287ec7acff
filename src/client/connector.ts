// Connectors (aiohttp's TCPConnector/UnixConnector) over undici's Agent: connection pools per
// origin, a total limit across hosts (excess requests wait), DNS caching, unix sockets.

import type { IncomingHttpHeaders } from "node:http";
import { type Duplex, Readable } from "node:stream";
import type { ConnectionOptions } from "node:tls";
import type { Agent, Dispatcher } from "undici";
import { ClientClosedError, ConnectionTimeoutError, SocketTimeoutError } from "./errors.js";
import { undici } from "./lazy-deps.js";

/** `node:tls` options for an `ssl` setting: `false` skips verification, an object is used as is. */
export function tlsOptions(ssl: boolean | ConnectionOptions | undefined): ConnectionOptions {
  if (ssl === undefined || ssl === true) return {};
  return ssl === false ? { rejectUnauthorized: false } : ssl;
}

/** Options every connector takes. */
export interface BaseConnectorOptions {
  /** Most connections open at once across all hosts (0: no limit); @default 100 */
  limit?: number;
  /** Most connections to one host (0: no limit); @default 0 */
  limitPerHost?: number;
  /** How long an idle keep-alive connection is kept, ms (0: none is kept); @default 15_000 */
  keepaliveTimeout?: number;
  /** Close every connection after its response instead of keeping it alive; @default false */
  forceClose?: boolean;
  /**
   * Opening a connection may take this long, ms (0: no limit). A request's own limit (a
   * session's `sockConnect` / `connect`) applies as well: the smaller one wins. @default none
   * beyond the request's (the bare `dispatcher` getter uses 30_000)
   */
  connectTimeout?: number;
  /**
   * TLS: `false` skips certificate verification, an object passes `node:tls` options (`ca`,
   * `cert`, `key`, `servername`...). @default true (verify)
   */
  ssl?: boolean | ConnectionOptions;
  /** Longest response head accepted, bytes (all header lines together); @default 1 MiB */
  maxHeaderSize?: number;
}

/** Options of `TCPConnector`. */
export interface TCPConnectorOptions extends BaseConnectorOptions {
  /** How long resolved addresses are cached, ms (null: for good, as aiohttp's None); @default 10_000 */
  ttlDnsCache?: number | null;
  /** @default true */
  useDnsCache?: boolean;
  /** Local address to bind outgoing connections to. */
  localAddr?: string;
  /**
   * Send requests through the proxy named by `HTTP_PROXY` / `HTTPS_PROXY` (or lower-case),
   * except for hosts in `NO_PROXY`; what a session's `trustEnv: true` sets on the connector it
   * creates. @default false
   */
  proxyFromEnv?: boolean;
  /** 4 or 6 to use only IPv4 or IPv6; @default 0 (both) */
  family?: 0 | 4 | 6;
}

/** Releases a connection slot taken with `acquire`. */
export type ReleaseSlot = () => void;

/** Per-request limits of `BaseConnector.request`, in ms; 0 turns one off. */
export interface RequestLimits {
  /** Opening a new connection (TCP and TLS) may take this long. */
  connectTimeout: number;
  /** The longest wait for the response head and between two body chunks (`sockRead`). */
  readTimeout: number;
}

/**
 * Owns the undici dispatchers and enforces the total connection limit. Sessions share one when
 * created with `{ connector, connectorOwner: false }`.
 */
export abstract class BaseConnector {
  readonly limit: number;
  readonly limitPerHost: number;
  readonly forceClose: boolean;
  // One undici Agent per connect timeout in use: undici fixes the connect timeout per Agent,
  // while aiohttp's `sockConnect` may change per request. Most sessions use a single value
  // (requests with different ones get separate pools, each with its own per-host limit).
  #dispatchers = new Map<number, Dispatcher>();
  #active = 0;
  #waiters: Array<() => void> = [];
  #closed = false;

  constructor(protected readonly _options: BaseConnectorOptions = {}) {
    this.limit = checkCount("limit", _options.limit ?? 100);
    this.limitPerHost = checkCount("limitPerHost", _options.limitPerHost ?? 0);
    this.forceClose = _options.forceClose ?? false;
    if (_options.keepaliveTimeout !== undefined)
      checkMs("keepaliveTimeout", _options.keepaliveTimeout);
    if (_options.connectTimeout !== undefined) checkMs("connectTimeout", _options.connectTimeout);
  }

  /** Connect options for undici (TLS settings included), opening within `connectTimeout` ms. */
  protected _connectOptions(connectTimeout: number): Record<string, unknown> {
    return { timeout: connectTimeout, ...this._tlsOptions() };
  }

  /**
   * @internal how `wsConnect` opens a connection of its own (a WebSocket leaves the pool):
   * the TLS settings, and the unix socket for a `UnixConnector`
   */
  _webSocketTransport(): { tls: ConnectionOptions; socketPath: string | undefined } {
    return { tls: this._tlsOptions(), socketPath: undefined };
  }

  /** `node:tls` options from the `ssl` option. */
  protected _tlsOptions(): ConnectionOptions {
    return tlsOptions(this._options.ssl);
  }

  /** Builds an undici dispatcher whose connections open within `connectTimeout` ms (0: no limit). */
  protected abstract _createDispatcher(connectTimeout: number): Dispatcher;

  /** The undici dispatcher requests go through, with the connector's own `connectTimeout`. */
  get dispatcher(): Dispatcher {
    return this.#dispatcherFor(this._options.connectTimeout ?? 30_000);
  }

  /**
   * The dispatcher for a request whose connection must open within `connectTimeout` ms (0: no
   * limit), bounded by the connector's own `connectTimeout` when one was given.
   */
  dispatcherFor(connectTimeout: number): Dispatcher {
    checkMs("connectTimeout", connectTimeout);
    const own = this._options.connectTimeout ?? 0;
    const effective =
      own === 0 ? connectTimeout : connectTimeout === 0 ? own : Math.min(own, connectTimeout);
    return this.#dispatcherFor(effective);
  }

  #dispatcherFor(connectTimeout: number): Dispatcher {
    if (this.#closed) throw new ClientClosedError("Connector is closed");
    let d = this.#dispatchers.get(connectTimeout);
    if (d === undefined) {
      d = this._createDispatcher(connectTimeout);
      this.#dispatchers.set(connectTimeout, d);
    }
    return d;
  }

  /**
   * Sends one request through the pool: a new connection must open within
   * `limits.connectTimeout`, and the server may stay silent for at most `limits.readTimeout`
   * before the response head and between body chunks (then `SocketTimeoutError`).
   */
  request(
    options: Dispatcher.RequestOptions,
    limits: RequestLimits,
  ): Promise<Dispatcher.ResponseData> {
    checkMs("readTimeout", limits.readTimeout);
    const dispatcher = this.dispatcherFor(limits.connectTimeout);
    if (limits.readTimeout === 0) return dispatcher.request(options);
    return dispatcher.compose(readTimeoutInterceptor(limits.readTimeout)).request(options);
  }

  /** Agent options shared by the concrete connectors. */
  protected _agentOptions(): Agent.Options {
    const keepalive = this._options.keepaliveTimeout ?? 15_000;
    // undici's pipelining 0 closes each connection after its response.
    const reuse =
      this.forceClose || keepalive === 0
        ? { pipelining: 0 }
        : {
            keepAliveTimeout: keepalive,
            // undici prefers a server's `Keep-Alive: timeout=N` hint, capped by this maximum; the
            // cap keeps a connection from idling longer than `keepaliveTimeout`, as in aiohttp.
            keepAliveMaxTimeout: keepalive,
          };
    return {
      connections: socketsPerOrigin(this.limit, this.limitPerHost),
      ...reuse,
      maxHeaderSize: this._options.maxHeaderSize ?? 1024 * 1024,
      // Timeouts are applied per request (sockRead), not by the agent.
      headersTimeout: 0,
      bodyTimeout: 0,
    };
  }

  /** Connections (requests holding one) in use now. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a free slot under `limit`. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes a slot under the total limit, waiting while all are in use (they do not fail).
   * `timeoutMs` bounds the wait (`ConnectionTimeoutError`); `signal` cancels it.
   */
  async acquire(timeoutMs = 0, signal?: Cancel, what = "a connection"): Promise<ReleaseSlot> {
    if (this.#closed) throw new ClientClosedError("Connector is closed");
    if (this.limit === 0 || this.#active < this.limit) return this.#take();
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (): void => {
        clearTimeout(timer);
        if (signal !== undefined) offAbort(signal, onAbort);
        resolve();
      };
      const drop = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        if (signal !== undefined) offAbort(signal, onAbort);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        drop();
        reject(signal?.reason);
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          drop();
          reject(
            new ConnectionTimeoutError(
              `Connection timeout to ${what} (waited ${timeoutMs} ms for a free slot)`,
            ),
          );
        }, timeoutMs);
      }
      if (signal?.aborted) {
        onAbort();
        return;
      }
      if (signal !== undefined) onceAbort(signal, onAbort);
      this.#waiters.push(waiter);
    });
    return this.#take();
  }

  #take(): ReleaseSlot {
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const next = this.#waiters.shift();
      if (next !== undefined) next();
    };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every connection; pending requests fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    await Promise.all(all.map((d) => d.destroy().catch(() => {})));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** TCP (and TLS) connections with pooling, limits and a DNS cache. */
export class TCPConnector extends BaseConnector {
  constructor(options: TCPConnectorOptions = {}) {
    super(options);
    if (options.ttlDnsCache != null) checkMs("ttlDnsCache", options.ttlDnsCache);
  }

  protected _createDispatcher(connectTimeout: number): Dispatcher {
    const o = this._options as TCPConnectorOptions;
    const connect: Record<string, unknown> = this._connectOptions(connectTimeout);
    if (o.family !== undefined && o.family !== 0) connect.family = o.family;
    // undici takes the local address as a client option: in `connect` it would be overridden.
    const local = o.localAddr === undefined ? {} : { localAddress: o.localAddr };
    if (o.proxyFromEnv === true && proxyInEnv()) {
      // The proxy resolves the target's name, so no DNS cache here; NO_PROXY hosts go direct.
      return new (undici().EnvHttpProxyAgent)({ ...this._agentOptions(), ...local, connect });
    }
    const agent = new (undici().Agent)({ ...this._agentOptions(), ...local, connect });
    if (o.useDnsCache === false) return agent;
    // node:dns lookups carry no TTL, so every record lives exactly this long.
    const ttl = o.ttlDnsCache === undefined ? 10_000 : (o.ttlDnsCache ?? Number.POSITIVE_INFINITY);
    return agent.compose(
      undici().interceptors.dns({
        maxTTL: ttl,
        ...(o.family === 4 || o.family === 6 ? { affinity: o.family, dualStack: false } : {}),
      }),
    );
  }
}

/** Options of `UnixConnector`. */
export interface UnixConnectorOptions extends BaseConnectorOptions {
  /** The unix socket every request goes to, whatever the URL's host. */
  path: string;
}

/** Connections over a unix domain socket. */
export class UnixConnector extends BaseConnector {
  readonly path: string;
  constructor(options: UnixConnectorOptions) {
    super(options);
    this.path = options.path;
  }

  protected _createDispatcher(connectTimeout: number): Dispatcher {
    return new (undici().Agent)({
      ...this._agentOptions(),
      connect: { ...this._connectOptions(connectTimeout), socketPath: this.path },
    });
  }

  override _webSocketTransport(): { tls: ConnectionOptions; socketPath: string | undefined } {
    return { tls: this._tlsOptions(), socketPath: this.path };
  }
}

/**
 * aiohttp's `sockRead` on native timers. undici's own `headersTimeout`/`bodyTimeout` run on its
 * coarse timer wheel (ticks of about half a second), so a 100 ms limit fired after up to a
 * second and a stall of three times the limit could pass unnoticed.
 */
function readTimeoutInterceptor(ms: number): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const url = `${String(opts.origin ?? "")}${opts.path}`;
    const watch = new ReadTimeoutHandler(handler, ms, () => {
      return new SocketTimeoutError(`Timeout on reading data from socket (${opts.method} ${url})`);
    });
    watchBodyEnd(opts.body, () => watch.bodySent());
    return dispatch(opts, watch);
  };
}

/**
 * Calls `onEnd` once undici has read `body` to its end; at once for a body written with the
 * head. A Readable is watched without touching its flow. FormData, which undici streams itself,
 * counts as sent with the head. (Sessions hand every other stream over as a Readable.)
 */
function watchBodyEnd(body: Dispatcher.DispatchOptions["body"], onEnd: () => void): void {
  if (body instanceof Readable && !body.readableEnded) body.once("end", onEnd);
  else onEnd();
}

/**
 * Aborts a request when the server sends nothing for `ms` while the reader wants data, as
 * aiohttp's `sockRead`: the clock starts once the request is sent (aiohttp#7149: a slow upload
 * is not a slow server), restarts with every chunk, and stops while the reader has paused the
 * body (a slow consumer is not a slow server either).
 */
class ReadTimeoutHandler implements Dispatcher.DispatchHandler {
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #ms: number;
  readonly #makeError: () => Error;
  #timer: NodeJS.Timeout | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #proxy: Dispatcher.DispatchController | undefined;
  #started = false;
  #sent = false;
  #over = false;

  constructor(inner: Dispatcher.DispatchHandler, ms: number, makeError: () => Error) {
    this.#inner = inner;
    this.#ms = ms;
    this.#makeError = makeError;
  }

  /** The request body has been handed to the socket: the server's turn starts. */
  bodySent(): void {
    this.#sent = true;
    if (this.#started) this.#arm();
  }

  #arm(): void {
    if (this.#over || this.#controller?.paused === true) return;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        // Node runs due timers before it reads sockets (asyncio, under aiohttp, reads first):
        // after the event loop was held up, data that came in time may still be unread.
        // setImmediate runs after that read, when data would have armed a new timer.
        setImmediate(() => this.#expire());
      }, this.#ms);
    } else this.#timer.refresh();
  }

  #expire(): void {
    if (this.#over || this.#timer !== undefined || this.#controller?.paused === true) return;
    this.#over = true;
    this.#controller?.abort(this.#makeError());
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #stop(): void {
    this.#over = true;
    this.#disarm();
  }

  /** The controller handed to the inner handler: its pause and resume stop and start the clock. */
  #wrap(controller: Dispatcher.DispatchController): Dispatcher.DispatchController {
    if (this.#controller === controller && this.#proxy !== undefined) return this.#proxy;
    this.#controller = controller;
    const onPause = (): void => this.#disarm();
    const onResume = (): void => this.#arm();
    const proxy: Dispatcher.DispatchController = {
      get aborted() {
        return controller.aborted;
      },
      get paused() {
        return controller.paused;
      },
      get reason() {
        return controller.reason;
      },
      get rawHeaders() {
        return controller.rawHeaders ?? null;
      },
      get rawTrailers() {
        return controller.rawTrailers ?? null;
      },
      abort: (reason: Error) => controller.abort(reason),
      pause: () => {
        controller.pause();
        onPause();
      },
      resume: () => {
        controller.resume();
        onResume();
      },
    };
    this.#proxy = proxy;
    return proxy;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    const proxy = this.#wrap(controller);
    this.#started = true;
    if (this.#sent) this.#arm();
    this.#inner.onRequestStart?.(proxy, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.#stop();
    this.#inner.onRequestUpgrade?.(this.#wrap(controller), statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    const proxy = this.#wrap(controller);
    // An early answer (before the body is all sent) starts the clock too.
    this.#arm();
    this.#inner.onResponseStart?.(proxy, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const proxy = this.#wrap(controller);
    this.#arm();
    this.#inner.onResponseData?.(proxy, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.#stop();
    this.#inner.onResponseEnd?.(this.#wrap(controller), trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.#stop();
    this.#inner.onResponseError?.(this.#wrap(controller), error);
  }
}

/**
 * undici's cap on the sockets of one origin. Besides `limitPerHost`, `limit` caps it too: the
 * slot of a finished request is free a moment before undici sees its socket idle, and without
 * the cap undici would open another socket for the next request instead of waiting for it.
 */
function socketsPerOrigin(limit: number, limitPerHost: number): number | null {
  if (limitPerHost === 0) return limit === 0 ? null : limit;
  return limit === 0 ? limitPerHost : Math.min(limit, limitPerHost);
}

function checkMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a duration in ms >= 0, got ${value}`);
  return value;
}

function checkCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a count >= 0, got ${value}`);
  return value;
}

/** An AbortSignal, or an EventEmitter with `aborted` and `reason` (what undici also accepts). */
export type Cancel =
  | AbortSignal
  | {
      aborted: boolean;
      reason: unknown;
      once(e: "abort", f: () => void): unknown;
      off(e: "abort", f: () => void): unknown;
    };

/** Listens once for a `Cancel`'s abort. */
export function onceAbort(signal: Cancel, f: () => void): void {
  if ("addEventListener" in signal) signal.addEventListener("abort", f, { once: true });
  else signal.once("abort", f);
}

/** Stops listening for a `Cancel`'s abort. */
export function offAbort(signal: Cancel, f: () => void): void {
  if ("removeEventListener" in signal) signal.removeEventListener("abort", f);
  else signal.off("abort", f);
}

/** Whether the environment names a proxy (read when the dispatcher is created). */
function proxyInEnv(): boolean {
  const env = process.env;
  return Boolean(env.HTTP_PROXY || env.http_proxy || env.HTTPS_PROXY || env.https_proxy);
}
