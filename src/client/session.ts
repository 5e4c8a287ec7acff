// ClientSession (aiohttp's ClientSession): builds requests (URL, params, headers, cookies,
// auth, body), sends them through a connector's undici dispatcher, follows redirects, and maps
// undici's errors to the client error hierarchy.

import { EventEmitter } from "node:events";
import { Readable } from "node:stream";
import * as zlib from "node:zlib";
import type { Dispatcher, FormData as UndiciFormData } from "undici";
import {
  CIMultiDict,
  CIMultiDictProxy,
  type MultiDictInit,
  MultiDictProxy,
} from "../http/multidict.js";
import { StreamReader } from "../http/stream-reader.js";
import { VERSION } from "../version.js";
import { BasicAuth } from "./auth.js";
import { type BaseConnector, type ReleaseSlot, TCPConnector } from "./connector.js";
import { type AbstractCookieJar, CookieJar, formatCookieHeader } from "./cookie-jar.js";
import { toClientError } from "./error-mapping.js";
import {
  ClientClosedError,
  ClientConnectionError,
  ClientError,
  ClientResponseError,
  InvalidUrlClientError,
  InvalidUrlRedirectClientError,
  NonHttpUrlClientError,
  NonHttpUrlRedirectClientError,
  type RequestInfo,
  ServerDisconnectedError,
  ServerTimeoutError,
  TooManyRedirects,
} from "./errors.js";
import { undici } from "./lazy-deps.js";
import { ClientResponse } from "./response.js";
import {
  type ClientTimeout,
  DEFAULT_TIMEOUT,
  type ResolvedTimeout,
  resolveTimeout,
} from "./timeout.js";
import {
  type ClientWebSocketResponse,
  openWebSocket,
  proxyFromEnv,
  type WSConnectOptions,
} from "./websocket.js";

/** Query parameters in any of the shapes aiohttp accepts. */
export type Params =
  | Readonly<Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>>
  | Iterable<readonly [string, string | number | boolean]>
  | MultiDictProxy<string>
  | URLSearchParams
  | string;

/** Headers as an object, pairs, or a multidict. */
export type HeadersInit = MultiDictInit | CIMultiDict | CIMultiDictProxy | Headers;

/** A request body. */
export type RequestData =
  | string
  | Uint8Array
  | URLSearchParams
  | Readonly<Record<string, string | number | boolean>>
  | FormData
  | Blob
  | Readable
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>
  | StreamReader;

/** `raiseForStatus`: `true` throws `ClientResponseError` for >= 400; a function decides itself. */
export type RaiseForStatus = boolean | ((response: ClientResponse) => void | Promise<void>);

/** Options of one request. */
export interface RequestOptions {
  /** Added to the URL's own query. */
  params?: Params;
  /** The body; see `RequestData`. Not together with `json`. */
  data?: RequestData;
  /** A value sent as JSON (with the session's `jsonSerialize`). */
  json?: unknown;
  headers?: HeadersInit;
  /** Default headers not to add (`User-Agent`, `Accept`, `Accept-Encoding`). */
  skipAutoHeaders?: Iterable<string>;
  /** Cookies sent with this request only; not stored in the jar. */
  cookies?: Readonly<Record<string, string>>;
  auth?: BasicAuth;
  /** @default true (false for `head()`) */
  allowRedirects?: boolean;
  /** @default 10 */
  maxRedirects?: number;
  timeout?: ClientTimeout;
  raiseForStatus?: RaiseForStatus;
  /** Read a body without a length until the server closes; @default true */
  readUntilEof?: boolean;
  /** Cancels the request (and the body read). */
  signal?: AbortSignal;
}

/** Options of `ClientSession`. */
export interface ClientSessionOptions {
  /** Relative request URLs are resolved against it. */
  baseUrl?: string | URL;
  /** Sent with every request (request headers win). */
  headers?: HeadersInit;
  /** Cookies sent with every request (stored in the jar, for any host). */
  cookies?: Readonly<Record<string, string>>;
  /** @default a new `CookieJar()` */
  cookieJar?: AbstractCookieJar;
  auth?: BasicAuth;
  /** @default { total: 300_000, sockConnect: 30_000 } */
  timeout?: ClientTimeout;
  /** @default false */
  raiseForStatus?: RaiseForStatus;
  /** @default a new `TCPConnector()`, owned by the session */
  connector?: BaseConnector;
  /** Close the connector with the session; @default true when the session created it */
  connectorOwner?: boolean;
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
   * Take proxy settings from the environment: requests go through `HTTP_PROXY` /
   * `HTTPS_PROXY` except for `NO_PROXY` hosts. Applies to the connector the session creates;
   * give your own `TCPConnector({ proxyFromEnv: true })` the same way. @default false
   */
  trustEnv?: boolean;
  /** Most response header fields; @default 128 */
  maxHeaders?: number;
  /** Longest response header line, bytes; @default 8190 */
  maxFieldSize?: number;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const ACCEPT_ENCODING =
  typeof (zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress === "function"
    ? "gzip, deflate, br, zstd"
    : "gzip, deflate, br";

/** A body ready for undici, and whether it can be sent again (for 307/308 and retries). */
interface PreparedBody {
  body: string | Uint8Array | Readable | UndiciFormData | null;
  contentType: string | undefined;
  replayable: boolean;
}

/** Thrown when a redirect needs the body again but it was a stream already consumed. */
export class RedirectBodyError extends ClientError {
  override name = "RedirectBodyError";
  override readonly code: string = "AIOHTTP_REDIRECT_BODY";
}

/**
 * A session: shared connection pool, cookie jar, default headers and timeouts. Close it when
 * done (`await using session = new ClientSession()`).
 */
export class ClientSession implements AsyncDisposable {
  readonly #baseUrl: URL | undefined;
  readonly #headers: CIMultiDict;
  readonly #jar: AbstractCookieJar;
  readonly #auth: BasicAuth | undefined;
  readonly #timeout: ResolvedTimeout;
  readonly #raiseForStatus: RaiseForStatus;
  readonly #connector: BaseConnector;
  readonly #connectorOwner: boolean;
  readonly #jsonSerialize: (value: unknown) => string;
  readonly #autoDecompress: boolean;
  readonly #maxDecompressedSize: number;
  readonly #readBufsize: number;
  readonly #skipAutoHeaders: ReadonlySet<string>;
  readonly #requoteRedirectUrl: boolean;
  readonly #maxHeaders: number;
  readonly #maxFieldSize: number;
  readonly trustEnv: boolean;
  #closed = false;
  readonly #websockets = new Set<ClientWebSocketResponse>();

  constructor(options: ClientSessionOptions = {}) {
    if (options.baseUrl !== undefined) {
      try {
        this.#baseUrl = new URL(String(options.baseUrl));
      } catch (err) {
        throw new InvalidUrlClientError(String(options.baseUrl), "invalid baseUrl", { cause: err });
      }
    }
    this.#headers = toHeaders(options.headers);
    this.#jar = options.cookieJar ?? new CookieJar();
    if (options.cookies !== undefined) this.#jar.updateCookies(options.cookies);
    this.#auth = options.auth;
    this.#timeout = resolveTimeout(DEFAULT_TIMEOUT, options.timeout);
    this.#raiseForStatus = options.raiseForStatus ?? false;
    this.#connector =
      // No connect timeout of its own: each request's sockConnect/connect applies.
      options.connector ?? new TCPConnector(options.trustEnv ? { proxyFromEnv: true } : {});
    this.#connectorOwner = options.connectorOwner ?? options.connector === undefined;
    this.#jsonSerialize = options.jsonSerialize ?? JSON.stringify;
    this.#autoDecompress = options.autoDecompress ?? true;
    const maxDec = options.maxDecompressedSize;
    this.#maxDecompressedSize = maxDec === undefined ? 256 * 1024 * 1024 : (maxDec ?? 0);
    this.#readBufsize = options.readBufsize ?? 2 ** 16;
    this.#skipAutoHeaders = lowerSet(options.skipAutoHeaders);
    this.#requoteRedirectUrl = options.requoteRedirectUrl ?? true;
    this.#maxHeaders = options.maxHeaders ?? 128;
    this.#maxFieldSize = options.maxFieldSize ?? 8190;
    this.trustEnv = options.trustEnv ?? false;
  }

  // ---- properties ----------------------------------------------------------------------

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The session's cookie jar. */
  get cookieJar(): AbstractCookieJar {
    return this.#jar;
  }

  /** Default headers sent with every request (mutable). */
  get headers(): CIMultiDict {
    return this.#headers;
  }

  /** The connector (connection pool). */
  get connector(): BaseConnector {
    return this.#connector;
  }

  /** The session's timeouts. */
  get timeout(): ResolvedTimeout {
    return this.#timeout;
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
    const method = checkMethod(options.method ?? "GET");
    const { target, realUrl, auth } = this.#target(url, options);
    const extra = toHeaders(options.headers);
    let proxy: URL | null = null;
    if (options.proxy !== undefined) {
      try {
        proxy = new URL(String(options.proxy));
      } catch (err) {
        throw new InvalidUrlClientError(String(options.proxy), "invalid proxy URL", { cause: err });
      }
    }
    const transport = this.#connector._webSocketTransport();
    const ws = await openWebSocket({
      url: target,
      realUrl,
      headersFor: (at, dropCredentials) =>
        this.#requestHeaders(
          at,
          extra,
          this.#skipAutoHeaders,
          dropCredentials ? undefined : auth,
          undefined,
          NO_BODY,
          dropCredentials,
        ),
      options: { ...options, method },
      deadline: smallestLimit(this.#timeout.total, this.#timeout.connect),
      tls: transport.tls,
      socketPath: transport.socketPath,
      proxyFor: (at) => proxy ?? (this.trustEnv ? proxyFromEnv(at) : null),
      storeCookies: (setCookie, at) => this.#storeCookies(setCookie, at),
    });
    this.#websockets.add(ws);
    void ws._ended.then(() => this.#websockets.delete(ws));
    return ws;
  }

  /** Sends a request with any method. */
  async request(
    method: string,
    url: string | URL,
    options: RequestOptions = {},
  ): Promise<ClientResponse> {
    if (this.#closed) throw new ClientClosedError("Session is closed");
    const verb = checkMethod(method);
    if (options.data !== undefined && options.json !== undefined) {
      throw new TypeError("data and json cannot be given together");
    }
    const first = this.#target(url, options);
    let target = first.target;
    const realUrl = first.realUrl;
    let auth = first.auth;

    const timeout = resolveTimeout(this.#timeout, options.timeout);
    const control = new RequestControl(timeout.total, verb, realUrl, options.signal);
    const skip =
      options.skipAutoHeaders === undefined
        ? this.#skipAutoHeaders
        : lowerSet(options.skipAutoHeaders);
    const extraHeaders = toHeaders(options.headers);
    let body = this.#prepareBody(options);
    let currentMethod = verb;
    let requestCookies = options.cookies;
    /** Set once a redirect left the first origin: credentials stay behind from then on. */
    let leftOrigin = false;
    const history: ClientResponse[] = [];
    const allowRedirects = options.allowRedirects ?? true;
    const maxRedirects = options.maxRedirects ?? 10;

    try {
      for (;;) {
        const headers = this.#requestHeaders(
          target,
          extraHeaders,
          skip,
          auth,
          requestCookies,
          body,
          leftOrigin,
        );
        const requestInfo: RequestInfo = {
          url: target,
          method: currentMethod,
          headers: new CIMultiDictProxy(headers),
          realUrl: history.length === 0 ? realUrl : target,
        };
        const response = await this.#send(
          currentMethod,
          target,
          headers,
          body,
          timeout,
          control,
          requestInfo,
          history,
          options,
        );
        // Only a redirect needs the header multidict built here.
        const location = REDIRECTS.has(response.status)
          ? response.headers.get("Location")
          : undefined;
        if (!allowRedirects || location === undefined) {
          control.attach(response);
          try {
            await this.#checkStatus(response, options.raiseForStatus);
          } catch (err) {
            // Nobody gets the response: give its connection back rather than hold the slot.
            await response.release();
            throw err;
          }
          return response;
        }
        // A redirect: the body is not needed; the connection goes back to the pool.
        await response.release();
        history.push(response);
        if (history.length > maxRedirects) {
          throw new TooManyRedirects(response.requestInfo, {
            status: response.status,
            message: `Exceeded ${maxRedirects} redirects`,
            headers: response.headers,
            history,
          });
        }
        const next = this.#redirectUrl(location, target);
        // RFC 9110 15.4.4: a 303 turns the request into a GET (HEAD stays HEAD); 15.4.2/15.4.3:
        // user agents turn a POST into a GET on 301 and 302.
        if (
          (response.status === 303 && currentMethod !== "HEAD") ||
          ((response.status === 301 || response.status === 302) && currentMethod === "POST")
        ) {
          currentMethod = "GET";
          body = NO_BODY;
        } else if (body.body !== null) {
          // Every other redirect (307/308, and 301/302 after a method other than POST) sends
          // the same method with the same body again.
          if (!body.replayable) {
            throw new RedirectBodyError(
              `Cannot follow the ${response.status} redirect to ${next}: the request body was a stream that is already sent`,
            );
          }
          body = this.#prepareBody(options);
        }
        if (next.origin !== target.origin) {
          // Credentials and explicit cookies are for the origin they were given for, whether
          // they came with the request or with the session, as in aiohttp.
          leftOrigin = true;
          auth = undefined;
          extraHeaders.delete("Authorization");
          extraHeaders.delete("Cookie");
          requestCookies = undefined;
        }
        target = next;
      }
    } catch (err) {
      control.fail();
      throw err;
    }
  }

  async #checkStatus(
    response: ClientResponse,
    perRequest: RaiseForStatus | undefined,
  ): Promise<void> {
    const rule = perRequest ?? this.#raiseForStatus;
    if (rule === true) response.raiseForStatus();
    else if (typeof rule === "function") await rule(response);
  }

  /** One HTTP exchange (one hop), retried once on a stale keep-alive connection. */
  async #send(
    method: string,
    url: URL,
    headers: CIMultiDict,
    body: PreparedBody,
    timeout: ResolvedTimeout,
    control: RequestControl,
    requestInfo: RequestInfo,
    history: readonly ClientResponse[],
    options: RequestOptions,
  ): Promise<ClientResponse> {
    for (let attempt = 0; ; attempt++) {
      // Cancelled (or timed out) already: no connection is opened for nothing.
      if (control.signal.aborted) throw control.signal.reason;
      const release = await this.#acquire(url, timeout, control);
      let data: Dispatcher.ResponseData;
      try {
        const pending = this.#connector.request(
          {
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: method as Dispatcher.HttpMethod,
            headers: flatten(headers),
            body: body.body,
            signal: control.signal,
            reset: this.#connector.forceClose,
          },
          {
            // aiohttp: sockConnect bounds opening the socket, connect the wait for a slot and
            // the opening together.
            connectTimeout: smallestLimit(timeout.sockConnect, timeout.connect),
            readTimeout: timeout.sockRead,
          },
        );
        data = await untilAborted(pending, control.signal);
      } catch (err) {
        release();
        const mapped = control.mapError(err, url, method);
        // A pooled connection the server had closed fails before any response: try once more
        // for methods that can be repeated (RFC 9110 9.2.2).
        if (
          mapped instanceof ServerDisconnectedError &&
          attempt === 0 &&
          IDEMPOTENT.has(method) &&
          body.replayable
        ) {
          continue;
        }
        throw mapped;
      }
      try {
        this.#checkHeaderLimits(data, requestInfo, history);
      } catch (err) {
        // The response is refused before anyone sees it: its slot is free again.
        release();
        throw err;
      }
      this.#storeCookies(data.headers["set-cookie"], url);
      const empty = method === "HEAD" || data.statusCode === 204 || data.statusCode === 304;
      const noLength =
        data.headers["content-length"] === undefined &&
        data.headers["transfer-encoding"] === undefined;
      if ((empty || (options.readUntilEof === false && noLength)) && !data.body.destroyed) {
        data.body.resume();
      }
      return new ClientResponse({
        method,
        url,
        requestInfo,
        status: data.statusCode,
        reason: data.statusText ?? "",
        headers: data.headers,
        body: empty || (options.readUntilEof === false && noLength) ? null : data.body,
        history: [...history],
        autoDecompress: this.#autoDecompress,
        maxDecompressedSize: this.#maxDecompressedSize,
        readBufsize: this.#readBufsize,
        onDone: (done) => {
          release();
          control.responseDone(done);
        },
      });
    }
  }

  async #acquire(
    url: URL,
    timeout: ResolvedTimeout,
    control: RequestControl,
  ): Promise<ReleaseSlot> {
    try {
      return await this.#connector.acquire(timeout.connect, control.signal, url.href);
    } catch (err) {
      throw control.mapError(err, url, "");
    }
  }

  #checkHeaderLimits(
    data: Dispatcher.ResponseData,
    requestInfo: RequestInfo,
    history: readonly ClientResponse[],
  ): void {
    let count = 0;
    let problem: string | null = null;
    const headers = data.headers;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (typeof value === "string") {
        count++;
        if (name.length + value.length + 2 > this.#maxFieldSize) {
          problem = `Got more than ${this.#maxFieldSize} bytes when reading header ${name}`;
        }
        continue;
      }
      for (const v of value) {
        count++;
        if (name.length + v.length + 2 > this.#maxFieldSize) {
          problem = `Got more than ${this.#maxFieldSize} bytes when reading header ${name}`;
        }
      }
    }
    if (count > this.#maxHeaders)
      problem = `Too many headers: ${count} (at most ${this.#maxHeaders})`;
    if (problem === null) return;
    // undici reports the destroyed body as aborted; nobody reads it any more.
    data.body.on("error", () => {});
    data.body.destroy();
    throw new ClientResponseError(requestInfo, { status: 400, message: problem, history });
  }

  /**
   * The URL to send to (no fragment, no credentials), the URL as asked for (no credentials),
   * and the credentials: the `auth` option, else the ones in the URL, else the session's.
   */
  #target(
    url: string | URL,
    options: { params?: Params; auth?: BasicAuth },
  ): { target: URL; realUrl: URL; auth: BasicAuth | undefined } {
    const target = this.#buildUrl(url, options.params);
    // A copy only when the URL sent differs from the one asked for (a fragment, credentials).
    const realUrl =
      target.hash === "" && target.username === "" && target.password === ""
        ? target
        : new URL(target);
    target.hash = "";
    let auth = options.auth ?? this.#auth;
    const urlAuth = BasicAuth.fromUrl(target);
    if (urlAuth !== undefined) {
      if (options.auth !== undefined)
        throw new TypeError("Cannot combine auth and credentials in the URL");
      auth = urlAuth;
      target.username = "";
      target.password = "";
      realUrl.username = "";
      realUrl.password = "";
    }
    return { target, realUrl, auth };
  }

  #storeCookies(setCookie: string | string[] | undefined, url: URL): void {
    if (setCookie === undefined) return;
    this.#jar.updateCookies(Array.isArray(setCookie) ? setCookie : [setCookie], url);
  }

  // ---- building requests ---------------------------------------------------------------

  #buildUrl(url: string | URL, params: Params | undefined): URL {
    let target: URL;
    try {
      target =
        this.#baseUrl === undefined ? new URL(String(url)) : new URL(String(url), this.#baseUrl);
    } catch (err) {
      throw new InvalidUrlClientError(String(url), "not a valid URL", { cause: err });
    }
    if (target.protocol === "ws:") target.protocol = "http:";
    else if (target.protocol === "wss:") target.protocol = "https:";
    if (target.protocol !== "http:" && target.protocol !== "https:") {
      throw new NonHttpUrlClientError(String(url), `unsupported scheme ${target.protocol}`);
    }
    if (target.hostname === "") throw new InvalidUrlClientError(String(url), "no host");
    if (params !== undefined) {
      for (const [k, v] of paramPairs(params)) target.searchParams.append(k, v);
    }
    return target;
  }

  #requestHeaders(
    url: URL,
    extra: CIMultiDict,
    skip: ReadonlySet<string>,
    auth: BasicAuth | undefined,
    cookies: Readonly<Record<string, string>> | undefined,
    body: PreparedBody,
    dropCredentials: boolean,
  ): CIMultiDict {
    const h = new CIMultiDict();
    h.set("Host", url.host);
    if (!skip.has("user-agent")) h.set("User-Agent", `aiohttp-ts/${VERSION}`);
    if (!skip.has("accept")) h.set("Accept", "*/*");
    if (!skip.has("accept-encoding")) h.set("Accept-Encoding", ACCEPT_ENCODING);
    // Session headers replace default ones, request headers replace both; repeats are kept.
    overlay(h, this.#headers, dropCredentials ? CREDENTIAL_HEADERS : undefined);
    overlay(h, extra);
    if (auth !== undefined && !extra.has("Authorization")) h.set("Authorization", auth.encode());
    const jarCookies = this.#jar.filterCookies(url);
    const all = cookies === undefined ? jarCookies : { ...jarCookies, ...cookies };
    if (Object.keys(all).length > 0) {
      const quote = this.#jar instanceof CookieJar ? this.#jar.quoteCookie : true;
      const header = formatCookieHeader(all, quote);
      const existing = h.get("Cookie");
      h.set("Cookie", existing === undefined ? header : `${existing}; ${header}`);
    }
    if (body.contentType !== undefined && !h.has("Content-Type"))
      h.set("Content-Type", body.contentType);
    if (body.body === null) h.delete("Content-Type");
    return h;
  }

  #prepareBody(options: RequestOptions): PreparedBody {
    if (options.json !== undefined) {
      const text = this.#jsonSerialize(options.json);
      return { body: text, contentType: "application/json", replayable: true };
    }
    const data = options.data;
    if (data === undefined) return NO_BODY;
    if (typeof data === "string")
      return { body: data, contentType: "text/plain; charset=utf-8", replayable: true };
    if (data instanceof Uint8Array)
      return { body: data, contentType: "application/octet-stream", replayable: true };
    if (data instanceof URLSearchParams) {
      return {
        body: data.toString(),
        contentType: "application/x-www-form-urlencoded",
        replayable: true,
      };
    }
    if (typeof FormData !== "undefined" && data instanceof FormData) {
      // undici writes the multipart body, its length and its boundary in Content-Type, but
      // only for its own FormData class: Node's global one comes from another copy of undici
      // and fails inside undici 7 ("action is not a function"). Copying the entries is cheap
      // (files are Blobs, not read here) and gives a fresh body for every replay.
      return { body: toUndiciFormData(data), contentType: undefined, replayable: true };
    }
    if (data instanceof Blob) {
      return {
        body: Readable.fromWeb(
          data.stream() as import("node:stream/web").ReadableStream<Uint8Array>,
        ),
        contentType: data.type || "application/octet-stream",
        replayable: false,
      };
    }
    if (data instanceof StreamReader) {
      return {
        body: Readable.from(data.iterAny()),
        contentType: "application/octet-stream",
        replayable: false,
      };
    }
    if (data instanceof Readable)
      return { body: data, contentType: "application/octet-stream", replayable: false };
    if (typeof ReadableStream !== "undefined" && data instanceof ReadableStream) {
      return {
        body: Readable.fromWeb(data as import("node:stream/web").ReadableStream<Uint8Array>),
        contentType: "application/octet-stream",
        replayable: false,
      };
    }
    if (Symbol.asyncIterator in (data as object)) {
      return {
        body: Readable.from(data as AsyncIterable<Uint8Array>),
        contentType: "application/octet-stream",
        replayable: false,
      };
    }
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(data as Record<string, string | number | boolean>))
      form.append(k, String(v));
    return {
      body: form.toString(),
      contentType: "application/x-www-form-urlencoded",
      replayable: true,
    };
  }

  #redirectUrl(location: string, current: URL): URL {
    let next: URL;
    try {
      const loc = this.#requoteRedirectUrl ? encodeURI(decodeURISafe(location)) : location;
      next = new URL(loc, current);
    } catch (err) {
      throw new InvalidUrlRedirectClientError(location, "invalid redirect Location", {
        cause: err,
      });
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new NonHttpUrlRedirectClientError(
        location,
        `redirect to unsupported scheme ${next.protocol}`,
      );
    }
    next.hash = "";
    return next;
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
    if (this.#connectorOwner) await this.#connector.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

const NO_BODY: PreparedBody = Object.freeze({
  body: null,
  contentType: undefined,
  replayable: true,
});

/**
 * The cancellation of one request, in the shape undici accepts as `signal` (an EventEmitter
 * with `aborted` and `reason`): several times cheaper per request than an AbortController,
 * whose signal is an EventTarget.
 */
class RequestAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit("abort");
  }
}

/**
 * The total timeout and cancellation of one `request()` call: one cancel signal for every hop
 * and for the final body read, cleared when that body is done with.
 */
class RequestControl {
  readonly #ac = new RequestAbort();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #user: AbortSignal | undefined;
  readonly #onUserAbort = (): void => this.#ac.abort(this.#user?.reason);

  constructor(total: number, method: string, url: URL, user: AbortSignal | undefined) {
    this.#user = user;
    if (total > 0) {
      this.#timer = setTimeout(
        () =>
          this.#ac.abort(new ServerTimeoutError(`Timeout (total ${total} ms) on ${method} ${url}`)),
        total,
      );
    }
    if (user !== undefined) {
      if (user.aborted) this.#ac.abort(user.reason);
      else user.addEventListener("abort", this.#onUserAbort, { once: true });
    }
  }

  get signal(): RequestAbort {
    return this.#ac;
  }

  /** The final response: the timeout keeps covering its body until it is done with. */
  attach(response: ClientResponse): void {
    this.#final = response;
    if (response.closed) this.#clear();
  }

  #final: ClientResponse | null = null;

  /** A response's body is done with; for the final one the request is over. */
  responseDone(response: ClientResponse): void {
    if (response === this.#final) this.#clear();
  }

  fail(): void {
    this.#clear();
  }

  #clear(): void {
    clearTimeout(this.#timer);
    this.#user?.removeEventListener("abort", this.#onUserAbort);
  }

  /** Maps undici's and Node's errors to the client hierarchy. */
  mapError(err: unknown, url: URL, method: string): Error {
    if (this.#ac.aborted) {
      const reason: unknown = this.#ac.reason;
      return reason instanceof Error
        ? reason
        : new ClientConnectionError(String(reason), { cause: err });
    }
    return toClientError(err, url, method);
  }
}

function checkMethod(method: string): string {
  const m = method.toUpperCase();
  if (!/^[!#$%&'*+.^_`|~0-9A-Z-]+$/.test(m))
    throw new TypeError(`Invalid HTTP method ${JSON.stringify(method)}`);
  return m;
}

/**
 * Settles with `pending`, or rejects as soon as `signal` aborts. undici notices an abort only
 * once a connection exists, so a connect that hangs would otherwise outlive the total timeout
 * and the caller's signal by up to the connect timeout. A response that arrives after the
 * abort is discarded.
 */
function untilAborted<T extends Dispatcher.ResponseData>(
  pending: Promise<T>,
  signal: RequestAbort,
): Promise<T> {
  if (signal.aborted) {
    pending.then((late) => late.body.destroy(), ignore);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      pending.then((late) => late.body.destroy(), ignore);
      reject(signal.reason);
    };
    signal.once("abort", onAbort);
    pending.then(
      (value) => {
        signal.off("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.off("abort", onAbort);
        reject(err);
      },
    );
  });
}

function ignore(): void {
  // The request was given up on; its late outcome has nobody to go to.
}

/** Headers that carry credentials, left out after a redirect to another origin. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(["authorization", "cookie"]);

/**
 * Adds `layer` to `target`: a name in `layer` replaces every value `target` had for it, and
 * all of `layer`'s values for a name are kept. Names in `skip` (lower-case) are left out.
 */
function overlay(target: CIMultiDict, layer: CIMultiDict, skip?: ReadonlySet<string>): void {
  const replaced = new Set<string>();
  for (const [k, v] of layer) {
    const lower = k.toLowerCase();
    if (skip?.has(lower)) continue;
    if (!replaced.has(lower)) {
      target.delete(k);
      replaced.add(lower);
    }
    target.add(k, v);
  }
}

function toUndiciFormData(form: FormData): UndiciFormData {
  const out = new (undici().FormData)();
  for (const [name, value] of form) {
    if (typeof value === "string") out.append(name, value);
    else out.append(name, value, value.name);
  }
  return out;
}

function toHeaders(init: HeadersInit | undefined): CIMultiDict {
  if (init === undefined) return new CIMultiDict();
  if (typeof Headers !== "undefined" && init instanceof Headers) return new CIMultiDict([...init]);
  return new CIMultiDict(init as MultiDictInit);
}

function lowerSet(names: Iterable<string> | undefined): ReadonlySet<string> {
  return new Set([...(names ?? [])].map((n) => n.toLowerCase()));
}

function flatten(headers: CIMultiDict): string[] {
  const out: string[] = [];
  headers._appendFlat(out);
  return out;
}

function* paramPairs(params: Params): Iterable<[string, string]> {
  if (typeof params === "string") {
    yield* new URLSearchParams(params);
    return;
  }
  if (params instanceof URLSearchParams || params instanceof MultiDictProxy) {
    for (const [k, v] of params) yield [k, String(v)];
    return;
  }
  if (Symbol.iterator in (params as object)) {
    for (const [k, v] of params as Iterable<readonly [string, string | number | boolean]>)
      yield [k, String(v)];
    return;
  }
  for (const [k, v] of Object.entries(params as Record<string, unknown>)) {
    if (Array.isArray(v)) for (const item of v) yield [k, String(item)];
    else yield [k, String(v)];
  }
}

function decodeURISafe(text: string): string {
  try {
    return decodeURI(text);
  } catch {
    return text;
  }
}

/** The stricter of two limits where 0 means none. */
function smallestLimit(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}
