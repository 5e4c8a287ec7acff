// ClientSession (aiohttp's ClientSession): the settings its requests share (base URL, headers,
// cookies, auth, timeouts, the connection pool), the verbs, WebSockets, and closing. Each
// request is a `ClientRequest` of its own (src/client/request.ts).

import { isToken } from "../http/header-syntax.js";
import type { CIMultiDict } from "../http/multidict.js";
import { kEnded } from "../http/symbols.js";
import { keepTickObjectShape } from "../http/tick-shape.js";
import type { BasicAuth } from "./auth.js";
import { type CacheOptions, sessionLayers } from "./cache.js";
import { type BaseConnector, TCPConnector } from "./connector.js";
import { type AbstractCookieJar, CookieJar } from "./cookie-jar.js";
import { ClientClosedError, ClientOptionError, InvalidUrlClientError } from "./errors.js";
import { lowerSet, requestHeaders, toHeaders } from "./headers.js";
import { type ClientMiddleware, toMiddlewares } from "./middleware.js";
import { netrcAuth } from "./netrc.js";
import { checkOptions, type OptionNames } from "./option-check.js";
import {
  chooseProxy,
  envProxySettings,
  type ProxyOptions,
  parseProxyUrl,
  proxyFor,
  readEnvProxies,
} from "./proxy.js";
import { ClientRequest, smallestLimit } from "./request.js";
import type { ClientResponse } from "./response.js";
import { RetryMiddleware, type RetryOptions } from "./retry.js";
import { kTLSFor, kWebSocketTransport } from "./symbols.js";
import {
  type ClientTimeout,
  DEFAULT_TIMEOUT,
  type ResolvedTimeout,
  resolveTimeout,
} from "./timeout.js";
import { type SSLSetting, TLSPools } from "./tls.js";
import type { TraceConfig } from "./tracing.js";
import type { HeadersInit, RaiseForStatus, RequestOptions, SessionConfig } from "./types.js";
import { hostOf, requestTarget } from "./url.js";
import {
  type ClientWebSocketResponse,
  WS_CONNECT_OPTION_NAMES,
  type WSConnectOptions,
} from "./websocket.js";
import { openWebSocket } from "./ws-handshake.js";

/** Options of `ClientSession`. */
export interface ClientSessionOptions extends ProxyOptions {
  /** Relative request URLs are resolved against it. */
  baseUrl?: string | URL;
  /** Sent with every request (request headers win). */
  headers?: HeadersInit;
  /** Cookies sent with every request (stored in the jar, for any host). */
  cookies?: Readonly<Record<string, string>>;
  /** @default a new `CookieJar()` */
  cookieJar?: AbstractCookieJar;
  /**
   * Basic credentials of every request without its own `auth` or credentials in its URL. With
   * a `baseUrl`, they go to the `baseUrl`'s origin only (as aiohttp), and never across a
   * redirect to another origin.
   */
  auth?: BasicAuth;
  /** @default { total: 300_000, sockConnect: 30_000 } */
  timeout?: ClientTimeout;
  /** @default false */
  raiseForStatus?: RaiseForStatus;
  /** @default a new `TCPConnector()`, owned by the session */
  connector?: BaseConnector;
  /** Close the connector with the session; @default true when the session created it */
  connectorOwner?: boolean;
  /**
   * Offer HTTP/2 (ALPN h2 over TLS) on the connector the session creates: concurrent requests
   * to one origin share one connection. With a `connector` of your own, set it there
   * (`new TCPConnector({ http2: true })`). @default false
   */
  http2?: boolean;
  /** @default JSON.stringify */
  jsonSerialize?: (value: unknown) => string;
  /** Decompress gzip/deflate/br(/zstd) bodies; @default true */
  autoDecompress?: boolean;
  /** Largest decompressed body, bytes (null: no limit): a zip bomb fails cleanly. @default 256 MiB */
  maxDecompressedSize?: number | null;
  /** Bytes buffered from the socket before reading pauses; @default 65536 */
  readBufsize?: number;
  /** Default headers never to add. */
  skipAutoHeaders?: Iterable<string>;
  /** Re-encode redirect URLs (`Location` values with raw spaces or non-ASCII); @default true */
  requoteRedirectUrl?: boolean;
  /**
   * Take settings from the environment: requests go through `HTTP_PROXY` / `HTTPS_PROXY`
   * (WebSockets `WS_PROXY` / `WSS_PROXY` first) except for `NO_PROXY` hosts, unless a `proxy`
   * is given; a request without auth takes the netrc file's credentials (`$NETRC`, else
   * `~/.netrc`) for its host. The environment's proxies apply to the connector the session
   * creates; give your own `TCPConnector({ proxyFromEnv: true })`. @default false
   */
  trustEnv?: boolean;
  /**
   * TLS settings of the session's requests and WebSockets (a request's own `ssl` wins): `false`
   * skips certificate verification, `SSLOptions`, a SecureContext or a `Fingerprint`. A
   * connector the session creates takes them; with a connector of your own they apply to this
   * session's requests only, over pools of their own. @default the connector's (verify)
   */
  ssl?: SSLSetting;
  /** Most response header fields; @default 128 */
  maxHeaders?: number;
  /** Longest response header line, bytes; @default 8190 */
  maxFieldSize?: number;
  /** Client middlewares around each hop of every request, outermost first. @default [] */
  middlewares?: Iterable<ClientMiddleware>;
  /**
   * Retries: a `RetryMiddleware` with these options, added after `middlewares` (innermost).
   * A request's own `middlewares` replace it too. @default no retries
   */
  retry?: RetryOptions;
  /** Request tracing: each config's callbacks run at each step of a request. @default [] */
  traceConfigs?: readonly TraceConfig[];
  /**
   * HTTP cache (RFC 9111) of the session's responses, on undici's cache interceptor: `true`
   * for a private in-memory cache, or its options. Fresh responses are served without
   * asking the server (`resp.fromCache`), stale ones revalidated. @default false (no cache)
   * @example new ClientSession({ cache: { maxSize: 10 * 1024 * 1024 } })
   */
  cache?: boolean | CacheOptions;
  /**
   * Send one request for identical GETs in flight at the same time (same URL and headers);
   * the others share its response (undici's deduplicate interceptor). @default false
   */
  dedupe?: boolean;
}

const SESSION_OPTION_NAMES = {
  baseUrl: true,
  headers: true,
  cookies: true,
  cookieJar: true,
  auth: true,
  timeout: true,
  raiseForStatus: true,
  connector: true,
  connectorOwner: true,
  http2: true,
  jsonSerialize: true,
  autoDecompress: true,
  maxDecompressedSize: true,
  readBufsize: true,
  skipAutoHeaders: true,
  requoteRedirectUrl: true,
  trustEnv: true,
  ssl: true,
  maxHeaders: true,
  maxFieldSize: true,
  middlewares: true,
  retry: true,
  traceConfigs: true,
  cache: true,
  dedupe: true,
  proxy: true,
  proxyAuth: true,
  proxyHeaders: true,
} as const satisfies OptionNames<ClientSessionOptions>;

const REQUEST_OPTION_NAMES = {
  params: true,
  data: true,
  json: true,
  headers: true,
  skipAutoHeaders: true,
  cookies: true,
  auth: true,
  allowRedirects: true,
  maxRedirects: true,
  timeout: true,
  raiseForStatus: true,
  readUntilEof: true,
  signal: true,
  compress: true,
  chunked: true,
  expect100: true,
  onUploadProgress: true,
  onDownloadProgress: true,
  ssl: true,
  serverHostname: true,
  traceRequestCtx: true,
  proxy: true,
  proxyAuth: true,
  proxyHeaders: true,
  middlewares: true,
} as const satisfies OptionNames<RequestOptions>;

/**
 * A session: shared connection pool, cookie jar, default headers and timeouts. Close it when
 * done (`await using session = new ClientSession()`).
 */
export class ClientSession implements AsyncDisposable {
  readonly #config: SessionConfig;
  readonly #connectorOwner: boolean;
  #closed = false;
  readonly #websockets = new Set<ClientWebSocketResponse>();

  constructor(options: ClientSessionOptions = {}) {
    checkOptions("ClientSession", options, SESSION_OPTION_NAMES);
    // Every request goes through process.nextTick several times (node's streams): see there.
    keepTickObjectShape();
    if (options.http2 !== undefined && options.connector !== undefined) {
      throw new ClientOptionError(
        "http2",
        "ClientSession: http2 applies to the connector the session creates; with a connector of your own, pass it there: new TCPConnector({ http2: true })",
      );
    }
    let baseUrl: URL | undefined;
    if (options.baseUrl !== undefined) {
      try {
        baseUrl = new URL(String(options.baseUrl));
      } catch (err) {
        throw new InvalidUrlClientError(String(options.baseUrl), "invalid baseUrl", { cause: err });
      }
    }
    const jar = options.cookieJar ?? new CookieJar();
    if (options.cookies !== undefined) jar.updateCookies(options.cookies);
    const maxDecompressed = options.maxDecompressedSize;
    this.#config = {
      baseUrl,
      headers: toHeaders(options.headers),
      jar,
      auth: options.auth,
      timeout: resolveTimeout(DEFAULT_TIMEOUT, options.timeout),
      raiseForStatus: options.raiseForStatus ?? false,
      // No connect timeout of its own: each request's sockConnect/connect applies.
      connector:
        options.connector ??
        new TCPConnector({
          ...(options.trustEnv ? { proxyFromEnv: true } : {}),
          ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
          ...(options.http2 === undefined ? {} : { http2: options.http2 }),
        }),
      jsonSerialize: options.jsonSerialize ?? JSON.stringify,
      autoDecompress: options.autoDecompress ?? true,
      maxDecompressedSize:
        maxDecompressed === undefined ? 256 * 1024 * 1024 : (maxDecompressed ?? 0),
      readBufsize: options.readBufsize ?? 2 ** 16,
      skipAutoHeaders: lowerSet(options.skipAutoHeaders),
      requoteRedirectUrl: options.requoteRedirectUrl ?? true,
      maxHeaders: options.maxHeaders ?? 128,
      maxFieldSize: options.maxFieldSize ?? 8190,
      trustEnv: options.trustEnv ?? false,
      // The connector created here has them already.
      ssl: options.connector === undefined ? undefined : options.ssl,
      tlsPools: new TLSPools(),
      traceConfigs: [...(options.traceConfigs ?? [])],
      layers: sessionLayers(options.cache, options.dedupe),
      session: this,
      proxy: {
        proxy: options.proxy,
        proxyAuth: options.proxyAuth,
        proxyHeaders: options.proxyHeaders,
      },
      middlewares: [
        ...toMiddlewares(options.middlewares),
        ...(options.retry === undefined ? [] : [new RetryMiddleware(options.retry)]),
      ],
    };
    // A mistyped proxy fails here, not at the first request.
    if (options.proxy != null) parseProxyUrl(options.proxy);
    this.#connectorOwner = options.connectorOwner ?? options.connector === undefined;
  }

  // ---- properties ----------------------------------------------------------------------

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The session's cookie jar. */
  get cookieJar(): AbstractCookieJar {
    return this.#config.jar;
  }

  /** Default headers sent with every request (mutable). */
  get headers(): CIMultiDict {
    return this.#config.headers;
  }

  /** The connector (connection pool). */
  get connector(): BaseConnector {
    return this.#config.connector;
  }

  /** The session's timeouts. */
  get timeout(): ResolvedTimeout {
    return this.#config.timeout;
  }

  /** Whether proxies are taken from the environment (`trustEnv`). */
  get trustEnv(): boolean {
    return this.#config.trustEnv;
  }

  // ---- verbs ---------------------------------------------------------------------------

  get(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("GET", url, options);
  }
  post(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("POST", url, options);
  }
  put(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("PUT", url, options);
  }
  patch(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("PATCH", url, options);
  }
  delete(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("DELETE", url, options);
  }
  options(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request("OPTIONS", url, options);
  }
  /** HEAD does not follow redirects unless `allowRedirects: true`, as in aiohttp. */
  head(url: string | URL, options: RequestOptions = {}): Promise<ClientResponse> {
    return this.request("HEAD", url, { allowRedirects: false, ...options });
  }

  /** Sends a request with any method. */
  request(
    method: string,
    url: string | URL,
    options: RequestOptions = {},
  ): Promise<ClientResponse> {
    // Not an async function: returning send()'s promise from one would cost the caller two
    // more turns of the microtask queue. Errors still come as a rejected promise.
    try {
      if (this.#closed) throw new ClientClosedError("Session is closed");
      checkOptions("ClientSession.request()", options, REQUEST_OPTION_NAMES);
      return new ClientRequest(this.#config, checkMethod(method), url, options).send();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Opens a WebSocket (`ws://`, `wss://`, `http://` or `https://` URL). The handshake carries
   * the session's default headers, cookies and auth; cookies it sets are stored. A refusal
   * (any answer but a valid 101) throws `WSServerHandshakeError` with the status and headers.
   *
   * @example
   * await using ws = await session.wsConnect("http://127.0.0.1:8080/ws");
   * await ws.sendStr("hello");
   * const reply = await ws.receive();
   */
  async wsConnect(
    url: string | URL,
    options: WSConnectOptions = {},
  ): Promise<ClientWebSocketResponse> {
    if (this.#closed) throw new ClientClosedError("Session is closed");
    checkOptions("ClientSession.wsConnect()", options, WS_CONNECT_OPTION_NAMES);
    const config = this.#config;
    const method = checkMethod(options.method ?? "GET");
    const {
      target,
      realUrl,
      auth: given,
    } = requestTarget(url, config.baseUrl, options.params, options.auth, config.auth);
    const extra = toHeaders(options.headers);
    // aiohttp: with trustEnv, a handshake without credentials takes the netrc file's.
    const auth =
      given === undefined &&
      config.trustEnv &&
      !extra.has("Authorization") &&
      !config.headers.has("Authorization")
        ? await netrcAuth(hostOf(target))
        : given;
    // The same proxy as the session's requests: the handshake's own options, the session's,
    // else the environment's (WS_PROXY / WSS_PROXY first) with trustEnv.
    const proxy = chooseProxy(options, config.proxy);
    const envProxies = proxy === undefined && config.trustEnv ? readEnvProxies() : null;
    const connector = config.connector;
    const transport = connector[kWebSocketTransport](
      connector[kTLSFor](options.ssl ?? config.ssl, options.serverHostname),
    );
    const ws = await openWebSocket({
      url: target,
      realUrl,
      headersFor: (at, leftOrigin) =>
        requestHeaders(config, {
          url: at,
          extra,
          skip: config.skipAutoHeaders,
          auth: leftOrigin ? undefined : auth,
          cookies: undefined,
          contentType: null,
          leftOrigin,
        }),
      options: { ...options, method },
      requoteRedirectUrl: config.requoteRedirectUrl,
      deadline: smallestLimit(config.timeout.total, config.timeout.connect),
      tls: transport.tls,
      pin: transport.tlsSettings.fingerprint,
      socketPath: transport.socketPath,
      proxyFor: (at) =>
        proxy !== undefined
          ? proxy
          : envProxies === null
            ? null
            : envProxySettings(proxyFor(at, envProxies, true)),
      storeCookies: (setCookie, at) => {
        if (setCookie !== undefined) config.jar.updateCookies(setCookie, at);
      },
    });
    this.#websockets.add(ws);
    void ws[kEnded].then(() => this.#websockets.delete(ws));
    return ws;
  }

  // ---- lifecycle -----------------------------------------------------------------------

  /** Closes the session (and the connector, when the session owns it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // As aiohttp, where WebSockets are connections of the session: they end with it (here
    // with a close handshake, 1001 going away).
    await Promise.allSettled(
      [...this.#websockets].map((ws) => ws.close({ code: 1001, message: "Session closed" })),
    );
    await this.#config.tlsPools.close();
    if (this.#connectorOwner) await this.#config.connector.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function checkMethod(method: string): string {
  const m = method.toUpperCase();
  if (!isToken(m)) throw new TypeError(`Invalid HTTP method ${JSON.stringify(method)}`);
  return m;
}
