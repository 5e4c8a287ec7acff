// Connectors (aiohttp's TCPConnector/UnixConnector) over undici's Agent: connection pools per
// origin, a total limit across hosts (excess requests wait), DNS caching, unix sockets, proxies
// from the environment.

import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import type { Agent, buildConnector, Dispatcher } from "undici";
import { AttemptInfo, attemptRequest } from "./attempt.js";
import { layerChain, type SessionLayers } from "./cache.js";
import { DnsCache, type DnsDispatchOptions } from "./dns-cache.js";
import { ClientClosedError, ClientOptionError, SocketTimeoutError } from "./errors.js";
import { h2AgentOptions } from "./h2-pool.js";
import { undici } from "./lazy-deps.js";
import { checkOptions, type OptionNames } from "./option-check.js";
import {
  type EnvProxies,
  envProxySettings,
  hasEnvProxy,
  isSocksProxy,
  type ProxySettings,
  proxyFor,
  proxyInterceptor,
  proxyKey,
  readEnvProxies,
} from "./proxy.js";
import type { RequestAbort } from "./request-control.js";
import { alsoOnRelease, type Cancel, type ReleaseSlot, SlotQueue } from "./slots.js";
import {
  kAdopt,
  kAgentOptions,
  kConnectOptions,
  kCreateDispatcher,
  kCreateProxyAgent,
  kDnsCache,
  kEnvProxies,
  kSend,
  kTLSFor,
  kTraceResolve,
  kTryAcquire,
  kWebSocketTransport,
} from "./symbols.js";
import {
  connectOption,
  type RequestTLS,
  type ResolvedTLS,
  resolveTLS,
  type SSLSetting,
} from "./tls.js";
import type { RequestTrace } from "./tracing.js";

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
   * TLS: `true` verifies certificates against Node's roots, `false` skips verification,
   * `SSLOptions` (`ca`, `cert`, `key`, `servername`, `minVersion`...), a
   * `tls.createSecureContext()` result, or a `Fingerprint` pinning the certificate. A request's
   * or session's own `ssl` replaces it. @default true (verify)
   */
  ssl?: SSLSetting;
  /** Longest response head accepted, bytes (all header lines together); @default 1 MiB */
  maxHeaderSize?: number;
  /**
   * Offer HTTP/2 by ALPN on `https://` connections (undici's `allowH2`): a server that picks h2
   * gets one connection per origin carrying concurrent requests as streams (up to 100, or the
   * server's `SETTINGS_MAX_CONCURRENT_STREAMS`); one that picks http/1.1 is spoken to as
   * without the option. Plain `http://` stays HTTP/1.1 (no h2c). Refused together with
   * `forceClose` or `keepaliveTimeout: 0`; a request's `expect100` is refused with it (see
   * docs/http2.md). @default false
   */
  http2?: boolean;
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
export type { ReleaseSlot } from "./slots.js";

/** Per-request limits of `BaseConnector.request`, in ms; 0 turns one off. */
export interface RequestLimits {
  /** Opening a new connection (TCP and TLS) may take this long. */
  connectTimeout: number;
  /** The longest wait for the response head and between two body chunks (`sockRead`). */
  readTimeout: number;
  /**
   * The proxy to go through, `null` to go direct; when absent the connector's own choice
   * (`proxyFromEnv`).
   */
  proxy?: ProxySettings | null | undefined;
}

/** What a WebSocket needs to open a connection of its own (it leaves the pool). */
export interface WebSocketTransport {
  readonly tls: ConnectionOptions;
  /** The certificate pin of `tls`, if any. */
  readonly tlsSettings: ResolvedTLS;
  /** The unix socket of a `UnixConnector`. */
  readonly socketPath: string | undefined;
}

/**
 * Owns the undici dispatchers and enforces the total connection limit. Sessions share one when
 * created with `{ connector, connectorOwner: false }`. Use `TCPConnector` or `UnixConnector`;
 * this class is not meant to be extended outside the package.
 */
export abstract class BaseConnector {
  readonly limit: number;
  readonly limitPerHost: number;
  readonly forceClose: boolean;
  /** Whether connections offer HTTP/2 (the `http2` option). */
  readonly http2: boolean;
  readonly #options: BaseConnectorOptions;
  readonly #tls: ResolvedTLS;
  // One undici Agent per connect timeout in use: undici fixes the connect timeout per Agent,
  // while aiohttp's `sockConnect` may change per request. Most sessions use a single value
  // (requests with different ones get separate pools; `limitPerHost` is counted across them,
  // in `acquire`).
  #dispatchers = new Map<number, Dispatcher>();
  /** The same without the environment's proxies. */
  #direct = new Map<number, Dispatcher>();
  /** One pool per proxy setup and connect timeout: proxied connections never mix with others. */
  #viaProxy = new Map<string, Dispatcher>();
  /** Other dispatchers made on the way (a proxy's), closed with the connector. */
  #extra: Dispatcher[] = [];
  /** Slots under `limit`. */
  #slots: SlotQueue;
  /** Slots under `limitPerHost`, by origin, while some are taken or awaited. */
  readonly #hostSlots = new Map<string, SlotQueue>();
  #closed = false;

  constructor(options: BaseConnectorOptions = {}) {
    this.#options = options;
    this.#tls = resolveTLS(options.ssl);
    this.limit = checkCount("limit", options.limit ?? 100);
    this.limitPerHost = checkCount("limitPerHost", options.limitPerHost ?? 0);
    this.#slots = new SlotQueue(this.limit);
    this.forceClose = options.forceClose ?? false;
    if (options.http2 !== undefined && typeof options.http2 !== "boolean") {
      throw new TypeError(`http2 must be a boolean, got ${typeof options.http2}`);
    }
    this.http2 = options.http2 ?? false;
    if (this.http2 && (this.forceClose || options.keepaliveTimeout === 0)) {
      // undici keeps an h2 connection whatever a request's `reset` says; closing each after
      // one stream would also defeat the point of HTTP/2.
      const name = this.forceClose ? "forceClose" : "keepaliveTimeout";
      throw new ClientOptionError(
        name,
        `${name === "forceClose" ? "forceClose: true" : "keepaliveTimeout: 0"} cannot be combined with http2: true: HTTP/2 connections are kept and shared; leave http2 off to close each connection after its response`,
      );
    }
    if (options.keepaliveTimeout !== undefined)
      checkMs("keepaliveTimeout", options.keepaliveTimeout);
    if (options.connectTimeout !== undefined) checkMs("connectTimeout", options.connectTimeout);
  }

  /** @internal undici connect options (TLS settings included), opening within `connectTimeout` ms */
  protected [kConnectOptions](connectTimeout: number, tls: ResolvedTLS): Record<string, unknown> {
    const options: Record<string, unknown> = { timeout: connectTimeout, ...tls.options };
    if (this.http2) options.allowH2 = true;
    return options;
  }

  /**
   * @internal the TLS settings of a request or session: its own `ssl` (else the connector's)
   * with `serverHostname` as the name sent and checked
   */
  [kTLSFor](ssl: SSLSetting | undefined, serverHostname: string | undefined): ResolvedTLS {
    if (ssl === undefined && serverHostname === undefined) return this.#tls;
    return resolveTLS(ssl ?? this.#options.ssl, serverHostname);
  }

  /** @internal how `wsConnect` opens a connection of its own */
  [kWebSocketTransport](tls: ResolvedTLS = this.#tls): WebSocketTransport {
    return { tls: tls.options, tlsSettings: tls, socketPath: undefined };
  }

  /**
   * @internal builds an undici dispatcher whose connections open within `connectTimeout` ms (0:
   * no limit), with the TLS settings `tls`
   */
  protected abstract [kCreateDispatcher](connectTimeout: number, tls: ResolvedTLS): Dispatcher;

  /**
   * @internal the dispatcher for connections through `proxy`, the target's TLS settings `tls`;
   * only TCP connectors have one
   */
  protected [kCreateProxyAgent](
    _connectTimeout: number,
    _proxy: ProxySettings,
    _tls: ResolvedTLS,
  ): Dispatcher {
    throw new TypeError("Proxies need a TCPConnector");
  }

  /** @internal the environment's proxies when the connector follows them, else `null` */
  protected [kEnvProxies](): EnvProxies | null {
    return null;
  }

  /** @internal keeps a dispatcher made for the connector's pools, to close it with them */
  protected [kAdopt]<D extends Dispatcher>(dispatcher: D): D {
    this.#extra.push(dispatcher);
    return dispatcher;
  }

  /** The undici dispatcher requests go through, with the connector's own `connectTimeout`. */
  get dispatcher(): Dispatcher {
    return this.#dispatcherFor(this.#options.connectTimeout ?? 30_000);
  }

  /**
   * The dispatcher for a request whose connection must open within `connectTimeout` ms (0: no
   * limit), bounded by the connector's own `connectTimeout` when one was given.
   */
  dispatcherFor(connectTimeout: number): Dispatcher {
    return this.#dispatcherFor(this.#effective(connectTimeout));
  }

  #effective(connectTimeout: number): number {
    checkMs("connectTimeout", connectTimeout);
    const own = this.#options.connectTimeout ?? 0;
    return own === 0 ? connectTimeout : connectTimeout === 0 ? own : Math.min(own, connectTimeout);
  }

  #dispatcherFor(connectTimeout: number): Dispatcher {
    let d = this.#dispatchers.get(connectTimeout);
    if (d === undefined) {
      const direct = this.#directFor(connectTimeout);
      const proxies = this[kEnvProxies]();
      // The proxy resolves the target's name, so proxied requests skip the DNS cache; the same
      // NO_PROXY rules as a WebSocket's (src/client/proxy.ts) send the others direct.
      d =
        proxies === null
          ? direct
          : direct.compose(proxyInterceptor(proxies, (p) => this.#proxied(connectTimeout, p)));
      this.#dispatchers.set(connectTimeout, d);
    }
    return d;
  }

  #directFor(connectTimeout: number, tls?: RequestTLS): Dispatcher {
    if (this.#closed) throw new ClientClosedError("Connector is closed");
    // Other TLS settings than the connector's get pools of their own (the session's), so
    // that no connection made with one setting serves a request made with another.
    if (tls !== undefined && tls.tls.key !== this.#tls.key) {
      return tls.pools.get(`${connectTimeout} ${tls.tls.key}`, () =>
        this[kCreateDispatcher](connectTimeout, tls.tls),
      );
    }
    let d = this.#direct.get(connectTimeout);
    if (d === undefined) {
      d = this[kCreateDispatcher](connectTimeout, this.#tls);
      this.#direct.set(connectTimeout, d);
    }
    return d;
  }

  #proxied(connectTimeout: number, proxy: ProxySettings, tls?: RequestTLS): Dispatcher {
    if (this.#closed) throw new ClientClosedError("Connector is closed");
    const key = `${connectTimeout} ${proxyKey(proxy)}`;
    // As for direct requests: other TLS settings than the connector's, other pools (the
    // session's), one per proxy setup and TLS setting.
    if (tls !== undefined && tls.tls.key !== this.#tls.key) {
      return tls.pools.get(`${key} ${tls.tls.key}`, () =>
        this[kCreateProxyAgent](connectTimeout, proxy, tls.tls),
      );
    }
    let d = this.#viaProxy.get(key);
    if (d === undefined) {
      d = this[kCreateProxyAgent](connectTimeout, proxy, this.#tls);
      this.#viaProxy.set(key, d);
    }
    return d;
  }

  /** The proxy a request to `origin` goes through: the request's choice, else the environment's. */
  #proxyOf(origin: string, chosen: ProxySettings | null | undefined): ProxySettings | null {
    if (chosen !== undefined) return chosen;
    const proxies = this[kEnvProxies]();
    return proxies === null ? null : envProxySettings(proxyFor(new URL(origin), proxies));
  }

  /**
   * @internal Resolves the host of a traced request to `origin` through the DNS cache, awaiting
   * the DNS signals; gives what its dispatch options carry as `dns`. Nothing for a proxied
   * request (the proxy resolves) or without a cache.
   */
  [kTraceResolve](
    url: URL,
    chosen: ProxySettings | null | undefined,
    trace: RequestTrace,
  ): Promise<DnsDispatchOptions | undefined> | undefined {
    const cache = this[kDnsCache]();
    if (cache === null || this.#proxyOf(url.origin, chosen) !== null) return undefined;
    return cache.traceResolve(url.hostname, trace);
  }

  /** @internal The DNS cache of the connector's direct connections. */
  protected [kDnsCache](): DnsCache | null {
    return null;
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
    return this[kSend](options, limits, new AttemptInfo());
  }

  /**
   * @internal `request()`, telling `info` about the connection the request went out on; the
   * session's `layers` (its cache, de-duplication) wrap the pool; `cancel` ends the request
   * (in place of a `signal` among the options)
   */
  [kSend](
    options: Dispatcher.RequestOptions,
    limits: RequestLimits,
    info: AttemptInfo,
    tls?: RequestTLS,
    layers?: SessionLayers,
    cancel?: RequestAbort,
  ): Promise<Dispatcher.ResponseData> {
    checkMs("readTimeout", limits.readTimeout);
    const connectTimeout = this.#effective(limits.connectTimeout);
    const proxy = this.#proxyOf(String(options.origin ?? ""), limits.proxy);
    info.proxy = proxy?.url ?? null;
    const dispatcher =
      proxy === null
        ? this.#directFor(connectTimeout, tls)
        : this.#proxied(connectTimeout, proxy, tls);
    // The message is built only when the timeout fires, not for every request.
    const makeError = () => {
      const url = `${String(options.origin ?? "")}${options.path}`;
      return new SocketTimeoutError(
        `Timeout on reading data from socket (${options.method} ${url})`,
      );
    };
    if (layers === undefined) {
      info.sent = true;
      return attemptRequest(dispatcher, options, info, limits.readTimeout, makeError, cancel);
    }
    const layered = dispatcher.compose(...layerChain(layers, info));
    return attemptRequest(layered, options, info, limits.readTimeout, makeError, cancel);
  }

  /** @internal undici Agent options shared by the concrete connectors */
  protected [kAgentOptions](
    connect?: Record<string, unknown> | buildConnector.connector,
  ): Agent.Options {
    const keepalive = this.#options.keepaliveTimeout ?? 15_000;
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
    const h2 =
      connect === undefined ? {} : this.http2 ? h2AgentOptions(connect, keepalive) : { connect };
    return {
      connections: socketsPerOrigin(this.limit, this.limitPerHost),
      ...reuse,
      ...h2,
      maxHeaderSize: this.#options.maxHeaderSize ?? 1024 * 1024,
      // Timeouts are applied per request (sockRead), not by the agent.
      headersTimeout: 0,
      bodyTimeout: 0,
    };
  }

  /** Connections (requests holding one) in use now. */
  get active(): number {
    return this.#slots.active;
  }

  /** Requests waiting for a free slot under `limit` or `limitPerHost`. */
  get waiting(): number {
    let n = this.#slots.waiting;
    for (const host of this.#hostSlots.values()) n += host.waiting;
    return n;
  }

  /**
   * Takes a slot under the total limit and, for `origin`, under `limitPerHost`, waiting while
   * all are in use (they do not fail). `timeoutMs` bounds the whole wait
   * (`ConnectionTimeoutError`); `signal` cancels it.
   */
  async acquire(
    timeoutMs = 0,
    signal?: Cancel,
    what = "a connection",
    origin?: string,
  ): Promise<ReleaseSlot> {
    if (this.#closed) throw new ClientClosedError("Connector is closed");
    // undici caps the sockets of an origin in each of its pools, but a connector has a pool per
    // connect timeout: requests with another `sockConnect` went past a full origin on a pool of
    // their own, and the `connect` timeout did not bound their wait in the origin's queue.
    if (!this.#countedPerHost(origin)) return this.#slots.take(timeoutMs, signal, what);
    let host = this.#hostSlots.get(origin);
    if (host === undefined) {
      host = new SlotQueue(this.limitPerHost);
      this.#hostSlots.set(origin, host);
    }
    // The origin's queue goes once it falls idle, so that the map does not only grow.
    const dropIfIdle = (): void => {
      if (host.idle && this.#hostSlots.get(origin) === host) this.#hostSlots.delete(origin);
    };
    const started = performance.now();
    const releaseHost = await alsoOnRelease(host.take(timeoutMs, signal, what), dropIfIdle);
    const left = timeoutMs === 0 ? 0 : Math.max(1, timeoutMs - (performance.now() - started));
    return alsoOnRelease(this.#slots.take(left, signal, what), releaseHost);
  }

  /**
   * @internal a slot when one is free and nobody waits for one, else `null` (then `acquire`):
   * the common case without the promise and the turn of the event loop `acquire` costs. A
   * request counted per host (`limitPerHost`) always goes through `acquire`.
   */
  [kTryAcquire](origin?: string): ReleaseSlot | null {
    if (this.#closed || this.#countedPerHost(origin)) return null;
    return this.#slots.tryTake();
  }

  /** Whether a request to `origin` takes a slot under `limitPerHost` too. */
  #countedPerHost(origin: string | undefined): origin is string {
    // HTTP/2 streams share a connection: they are not counted per host.
    return origin !== undefined && this.limitPerHost > 0 && !this.http2;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every connection; pending requests fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#direct.values(), ...this.#viaProxy.values(), ...this.#extra.splice(0)];
    this.#dispatchers.clear();
    this.#direct.clear();
    this.#viaProxy.clear();
    await Promise.all(all.map((d) => d.destroy().catch(() => {})));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

const BASE_OPTION_NAMES = {
  limit: true,
  limitPerHost: true,
  keepaliveTimeout: true,
  forceClose: true,
  connectTimeout: true,
  ssl: true,
  maxHeaderSize: true,
  http2: true,
} as const satisfies OptionNames<BaseConnectorOptions>;

const TCP_OPTION_NAMES = {
  ...BASE_OPTION_NAMES,
  ttlDnsCache: true,
  useDnsCache: true,
  localAddr: true,
  proxyFromEnv: true,
  family: true,
} as const satisfies OptionNames<TCPConnectorOptions>;

/** The origin `isAddressOrigin` answered last, and its answer: requests repeat their origin. */
let lastOrigin = "";
let lastIsAddress = false;

/** Whether a dispatch origin (`https://host:port`) names its host by an IP address. */
function isAddressOrigin(origin: string | URL | undefined): boolean {
  if (origin === undefined) return false;
  if (typeof origin !== "string") return isIP(origin.hostname) !== 0;
  if (origin === lastOrigin) return lastIsAddress;
  const start = origin.indexOf("//") + 2;
  const end = origin.indexOf(":", start);
  lastIsAddress =
    origin[start] === "[" || // an IPv6 address
    isIP(end === -1 ? origin.slice(start) : origin.slice(start, end)) !== 0;
  lastOrigin = origin;
  return lastIsAddress;
}

/** TCP (and TLS) connections with pooling, limits and a DNS cache. */
export class TCPConnector extends BaseConnector {
  readonly #tcp: TCPConnectorOptions;
  readonly #dns: DnsCache | null;
  #env: EnvProxies | undefined;

  constructor(options: TCPConnectorOptions = {}) {
    super(options);
    checkOptions("TCPConnector", options, TCP_OPTION_NAMES);
    if (options.ttlDnsCache != null) checkMs("ttlDnsCache", options.ttlDnsCache);
    this.#tcp = options;
    const o = options;
    this.#dns =
      o.useDnsCache === false
        ? null
        : new DnsCache(
            // node:dns lookups carry no TTL, so every record lives exactly this long.
            o.ttlDnsCache === undefined ? 10_000 : (o.ttlDnsCache ?? Number.POSITIVE_INFINITY),
            o.family === 4 || o.family === 6 ? o.family : 0,
          );
  }

  /** @internal */
  protected override [kDnsCache](): DnsCache | null {
    return this.#dns;
  }

  /** @internal */
  protected [kCreateDispatcher](connectTimeout: number, tls: ResolvedTLS): Dispatcher {
    const o = this.#tcp;
    const options: Record<string, unknown> = this[kConnectOptions](connectTimeout, tls);
    if (o.family !== undefined && o.family !== 0) options.family = o.family;
    const connect = connectOption(options, tls, undici().buildConnector);
    // undici takes the local address as a client option: in `connect` it would be overridden.
    const agentOptions = {
      ...this[kAgentOptions](connect),
      ...(o.localAddr === undefined ? {} : { localAddress: o.localAddr }),
    };
    const agent = new (undici().Agent)(agentOptions);
    if (this.#dns === null) return agent;
    // All pools of the connector share one cache, as aiohttp's connector has one.
    const direct = agent.dispatch.bind(agent);
    const resolving = agent.compose(this.#dns.interceptor());
    // undici's interceptor hands an IP address on unresolved, but only after parsing the origin
    // and putting adapters around the request's handler: such requests skip it. The Agent's
    // own `dispatch` is replaced (compose() above took the original) rather than the Agent
    // wrapped in a Proxy, whose trap every property read of every request went through.
    agent.dispatch = (opts, handler) =>
      isAddressOrigin(opts.origin) ? direct(opts, handler) : resolving.dispatch(opts, handler);
    return agent;
  }

  /** @internal */
  protected override [kEnvProxies](): EnvProxies | null {
    if (this.#tcp.proxyFromEnv !== true) return null;
    this.#env ??= readEnvProxies();
    return hasEnvProxy(this.#env) ? this.#env : null;
  }

  /** @internal */
  protected override [kCreateProxyAgent](
    connectTimeout: number,
    proxy: ProxySettings,
    tls: ResolvedTLS,
  ): Dispatcher {
    const o = this.#tcp;
    const target: Record<string, unknown> = this[kConnectOptions](connectTimeout, tls);
    // The tunnelled connection to the target gets the TLS settings. A pin is not checked
    // through a proxy (undici builds that connection itself), so the chain is verified instead
    // of skipped.
    if (tls.fingerprint !== undefined) target.rejectUnauthorized = true;
    if (o.family !== undefined && o.family !== 0) target.family = o.family;
    if (isSocksProxy(proxy.url)) {
      // undici sends the target's name to the SOCKS5 proxy, which resolves it (socks5h).
      const url = new URL(proxy.url);
      url.protocol = "socks5:";
      const socks = {
        ...this[kAgentOptions](),
        connect: undici().buildConnector({ timeout: connectTimeout }),
        requestTls: target,
        ...(proxy.auth === undefined
          ? {}
          : { username: proxy.auth.login, password: proxy.auth.password }),
      };
      return new (undici().Socks5ProxyAgent)(url, socks);
    }
    const credentials = proxy.auth?.encode();
    return new (undici().ProxyAgent)({
      ...this[kAgentOptions](),
      ...(o.localAddr === undefined ? {} : { localAddress: o.localAddr }),
      uri: proxy.url.href,
      // `http://` targets go as absolute-form requests, as aiohttp sends them; `https://` ones
      // through a CONNECT tunnel.
      proxyTunnel: false,
      requestTls: target,
      proxyTls: { timeout: connectTimeout },
      headers: { ...proxy.headers },
      ...(credentials === undefined ? {} : { token: credentials }),
    });
  }
}

/** Options of `UnixConnector`. */
export interface UnixConnectorOptions extends BaseConnectorOptions {
  /** The unix socket every request goes to, whatever the URL's host. */
  path: string;
}

const UNIX_OPTION_NAMES = {
  ...BASE_OPTION_NAMES,
  path: true,
} as const satisfies OptionNames<UnixConnectorOptions>;

/** Connections over a unix domain socket. */
export class UnixConnector extends BaseConnector {
  readonly path: string;
  constructor(options: UnixConnectorOptions) {
    super(options);
    checkOptions("UnixConnector", options, UNIX_OPTION_NAMES);
    this.path = options.path;
  }

  /** @internal */
  protected [kCreateDispatcher](connectTimeout: number, tls: ResolvedTLS): Dispatcher {
    const options = { ...this[kConnectOptions](connectTimeout, tls), socketPath: this.path };
    return new (undici().Agent)(
      this[kAgentOptions](connectOption(options, tls, undici().buildConnector)),
    );
  }

  /** @internal */
  override [kWebSocketTransport](tls?: ResolvedTLS): WebSocketTransport {
    return { ...super[kWebSocketTransport](tls), socketPath: this.path };
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
