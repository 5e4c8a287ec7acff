// The server-side request (aiohttp's web.Request): a lazy view over Node's IncomingMessage.
// Nothing is parsed until asked for, and what is parsed is cached.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import { parse as parseCookie } from "cookie";
import { type ContentType, parseContentType } from "../http/content-type.js";
import { CIMultiDictProxy, MultiDictProxy } from "../http/multidict.js";
import { MultipartReader } from "../http/multipart/multipart-reader.js";
import type { MultipartReaderOptions } from "../http/multipart/types.js";
import { StreamReader } from "../http/stream-reader.js";
import type { AnyApplication, Application, Logger } from "./application.js";
import { HTTPBadRequest, HTTPRequestEntityTooLarge } from "./exceptions.js";
import type { FileField } from "./form/file-field.js";
import { DEFAULT_FORM_LIMITS } from "./form/form-limits.js";
import { type FormValue, parseMultipart } from "./form/form-parser.js";
import { multipartHttpError } from "./form/multipart-errors.js";
import { uploadDirOf } from "./form/temp-files.js";
import {
  type ForwardedElement,
  type ForwardedField,
  parseForwarded,
  type TrustProxy,
  trustedValue,
} from "./forwarded.js";
import { type AppKey, RequestKey, StateStore } from "./keys.js";
import { DEFAULT_MAX_DECOMPRESS_SIZE, decodedReader, requestCodings } from "./request-decoding.js";
import type { MatchInfo } from "./router/match-info.js";
import { decodePathSafe, normalizePath } from "./router/url-path.js";
import {
  kBodyStream,
  kCtx,
  kHasExpect,
  kPeer,
  kSetClientMaxSize,
  kSetCurrentApp,
  kSetMatchInfo,
  kStreamedBody,
  kUpgrade,
} from "./symbols.js";
import type { UpgradedSockets, UpgradeInfo } from "./upgrade.js";

/** Options of `request.multipart()`: the reader's limits; errors always map to 400/413. */
export type RequestMultipartOptions = Omit<MultipartReaderOptions, "mapError">;

import type { HttpVersion } from "../http/version.js";

export type { HttpVersion };

/** Overrides for `request.clone()`. */
export interface CloneOptions {
  method?: string;
  /** A new relative URL (path and query). */
  relUrl?: string | URL;
  headers?: CIMultiDictProxy | Iterable<readonly [string, string]> | Record<string, string>;
  /** A new client address. */
  remote?: string;
  host?: string;
  scheme?: string;
}

/** What a request needs from the server that runs it; one object per server, shared. */
export interface RequestContext {
  readonly trustProxy: TrustProxy;
  readonly handlerCancellation: boolean;
  /** The served application's debug mode. */
  readonly debug: boolean;
  /** Where the server logs. */
  readonly logger: Logger;
  /** Set when graceful shutdown starts: responses from then on close their connection. */
  readonly closing: boolean;
  /** The server's open WebSockets, closed with 1001 (going away) on graceful shutdown. */
  readonly websockets: Set<OpenWebSocket>;
  /** The server's open event streams (EventSourceResponse), ended on graceful shutdown. */
  readonly eventStreams: Set<OpenEventStream>;
  /** Sockets node:http handed over for upgrade requests, until a WebSocket owns them. */
  readonly upgraded: UpgradedSockets;
}

/** What graceful shutdown needs of an open event stream. */
export interface OpenEventStream {
  close(): Promise<void>;
}

/** What graceful shutdown needs of an open WebSocket. */
export interface OpenWebSocket {
  close(options: { code: number; message: string }): Promise<boolean>;
  /** Cuts the connection (shutdown's last step, for a session that did not close in time). */
  terminate(): void;
}

const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
/** Whether a path needs work before routing: it has escapes or dot segments. */
function needsDecoding(path: string): boolean {
  // Two scans of a short string cost less than a regex call.
  return path.indexOf("%") !== -1 || path.indexOf("/.") !== -1;
}

/** Keys of `request.getExtraInfo(name)`, after asyncio's `transport.get_extra_info`. */
export type ExtraInfoName = "peername" | "sockname" | "socket" | "peercert" | "cipher";

/**
 * An incoming HTTP request. `P` is the type of `matchInfo`, derived from the route template
 * when the handler was registered with a literal path.
 */
export class Request<P = Readonly<Record<string, string>>> {
  /** Node's request; `null` for an upgrade request, whose connection (`#upgrade`) holds it. */
  readonly #raw: IncomingMessage | null;
  #rawResponse: ServerResponse | null;
  #ctx: RequestContext;
  #matchInfo: MatchInfo | null = null;
  #app: AnyApplication | null = null;
  /** The rest of the request's state, made when first needed (see RequestMore). */
  #more: RequestMore | undefined;

  // Lazily computed and cached (what routing and the access log read of every request).
  #method: string | undefined;
  #rawPathAndQuery: string | undefined;
  #path: string | undefined;
  #clientMaxSize = 1024 ** 2;
  #expect: boolean;
  #upgrade: UpgradeInfo | null;
  /** The peer's address, read when the request starts: a closed socket no longer has one. */
  #peer: string | undefined;

  // Not `@internal`: the build strips those, and a class whose constructor is stripped looks
  // constructible without arguments in the published types.
  /**
   * Made by the server for each incoming request. An upgrade request's `rawResponse` is
   * `null`: its connection makes one when it is first asked for.
   */
  constructor(
    raw: IncomingMessage,
    rawResponse: ServerResponse | null,
    ctx: RequestContext,
    expect = false,
    upgrade: UpgradeInfo | null = null,
  ) {
    this.#raw = upgrade === null ? raw : null;
    this.#rawResponse = rawResponse;
    this.#ctx = ctx;
    this.#expect = expect;
    this.#upgrade = upgrade;
    this.#peer = (raw as { [kPeer]?: string })[kPeer] ?? raw.socket.remoteAddress;
  }

  /**
   * Node's request, for what this class does not cover. Over HTTP/2, an object with the same
   * fields (no stream methods: read the body through this class) and `stream`, the
   * `ServerHttp2Stream`. During a WebSocket session (after the 101), a copy made on first use,
   * with the same request line, headers and socket: node's own is not kept that long.
   */
  get raw(): IncomingMessage {
    return this.#raw ?? (this.#upgrade as UpgradeInfo).request;
  }

  /** Node's response object for this request (over HTTP/2, the same methods on the stream). */
  get rawResponse(): ServerResponse {
    // An upgrade request's is made on demand and let go after the 101 (see UpgradeInfo).
    return this.#rawResponse ?? (this.#upgrade as UpgradeInfo).response();
  }

  /**
   * @internal the connection of a WebSocket upgrade request (`null` for other requests); its
   * owner, once a WebSocketResponse takes it over, is no longer HTTP
   */
  get [kUpgrade](): UpgradeInfo | null {
    return this.#upgrade;
  }

  /**
   * @internal whether an HTTP/1.1 `Expect` header came with the request; Node reports these
   * through their own event, so the hot path never builds the headers object to look
   */
  get [kHasExpect](): boolean {
    return this.#expect;
  }

  // ---- request line -------------------------------------------------------------------

  /** The method, upper-case (`"GET"`). */
  get method(): string {
    return (this.#method ??= this.raw.method ?? "GET");
  }

  /** The HTTP version. */
  get version(): HttpVersion {
    return { major: this.raw.httpVersionMajor, minor: this.raw.httpVersionMinor };
  }

  /** The path and query exactly as sent (`/a%20b?x=1`). */
  get rawPathAndQuery(): string {
    return (this.#rawPathAndQuery ??= this.raw.url ?? "/");
  }

  /** The path as sent, percent-encoded, without the query (`/a%20b`). */
  get rawPath(): string {
    const pq = this.rawPathAndQuery;
    const q = pq.indexOf("?");
    return q === -1 ? pq : pq.slice(0, q);
  }

  /**
   * The path with percent-escapes decoded and dot segments resolved (`/a b`), as routing sees
   * it. `%2F` stays encoded so that it does not split a path segment.
   */
  get path(): string {
    if (this.#path === undefined) {
      const raw = this.rawPath;
      this.#path = needsDecoding(raw) ? normalizePath(decodePathSafe(raw)) : raw;
    }
    return this.#path;
  }

  /** The query string without `?` (`"a=1&b=2"`), empty when there is none. */
  get queryString(): string {
    const pq = this.rawPathAndQuery;
    const q = pq.indexOf("?");
    return q === -1 ? "" : pq.slice(q + 1);
  }

  /** The parsed query string; repeated keys are kept. */
  get query(): MultiDictProxy {
    const more = this.#m();
    if (more.query === undefined) {
      const qs = this.queryString;
      more.query = qs === "" ? new MultiDictProxy() : new MultiDictProxy(new URLSearchParams(qs));
    }
    return more.query;
  }

  /** The relative URL (path and query), resolved against a dummy origin. */
  get relUrl(): URL {
    return targetUrl(this.rawPathAndQuery, "http://localhost");
  }

  /**
   * The absolute URL: scheme and host as the client (or a trusted proxy) gave them. A Host
   * that cannot be part of a URL is a 400 `HTTPBadRequest`.
   */
  get url(): URL {
    const more = this.#m();
    if (more.url === undefined) {
      const host = this.host;
      if (!VALID_HOST.test(host)) {
        throw new HTTPBadRequest({ text: `Invalid Host header: ${JSON.stringify(host)}` });
      }
      more.url = targetUrl(this.rawPathAndQuery, `${this.scheme}://${host}`);
    }
    return more.url;
  }

  // ---- headers -------------------------------------------------------------------------

  /** The headers, case-insensitive, in the order received, repeated ones kept. */
  get headers(): CIMultiDictProxy {
    const more = this.#m();
    return (more.headers ??= CIMultiDictProxy.fromFlat(this.raw.rawHeaders));
  }

  /** Headers as `[name, value, ...]`, as received. */
  get rawHeaders(): readonly string[] {
    return this.raw.rawHeaders;
  }

  /** Cookies sent in the `Cookie` header. */
  get cookies(): Readonly<Record<string, string>> {
    const more = this.#m();
    if (more.cookies === undefined) {
      const header = this.raw.headers.cookie;
      const parsed = header ? parseCookie(header) : {};
      const pairs = Object.entries(parsed).filter(
        (pair): pair is [string, string] => pair[1] !== undefined,
      );
      // fromEntries defines own properties: a cookie named "__proto__" cannot set a prototype.
      more.cookies = Object.freeze(Object.fromEntries(pairs));
    }
    return more.cookies;
  }

  /** The media type of the body, lower-case; `application/octet-stream` when not given. */
  get contentType(): string {
    return this.#parsedContentType().mimetype;
  }

  /** The `charset` parameter of `Content-Type`, lower-case, when given. */
  get charset(): string | undefined {
    return this.#parsedContentType().charset;
  }

  /** The `Content-Length` header as a number, when given. */
  get contentLength(): number | undefined {
    const v = this.raw.headers["content-length"];
    return v === undefined ? undefined : Number(v);
  }

  /** Whether the connection will be kept open after this request. */
  get keepAlive(): boolean {
    return this.rawResponse.shouldKeepAlive;
  }

  #parsedContentType(): ContentType {
    const more = this.#m();
    return (more.contentType ??= parseContentType(this.raw.headers["content-type"]));
  }

  // ---- connection --------------------------------------------------------------------

  /** The socket of the connection. */
  get socket(): Socket {
    // An upgrade's socket is the one node's request had; asking it makes no copy of the request.
    return (this.#upgrade?.socket as Socket | undefined) ?? this.raw.socket;
  }

  /** `"https"` on a TLS connection, else `"http"` (or what a trusted proxy says). */
  get scheme(): string {
    const more = this.#m();
    if (more.scheme === undefined) {
      const own = (this.raw.socket as TLSSocket).encrypted ? "https" : "http";
      more.scheme = this.#trusted("proto") ?? own;
    }
    return more.scheme;
  }

  /** Whether the request came over TLS (`scheme === "https"`). */
  get secure(): boolean {
    return this.scheme === "https";
  }

  /**
   * The host the client asked for: the `Host` header (or a trusted proxy's forwarded host),
   * else the local address of the socket.
   */
  get host(): string {
    const more = this.#m();
    if (more.host === undefined) {
      const own = this.raw.headers.host;
      more.host = this.#trusted("host") ?? own ?? hostOf(this.raw.socket);
    }
    return more.host;
  }

  /**
   * The client's address: the peer of the socket (as it was when the request started, so it
   * stays known after the client went away), or the address a trusted proxy gives in
   * `Forwarded`/`X-Forwarded-For`.
   */
  get remote(): string | null {
    const more = this.#m();
    if (more.remote === undefined) {
      more.remote = this.#trusted("for") ?? this.#peer ?? null;
    }
    return more.remote;
  }

  /**
   * The parsed `Forwarded` header (RFC 7239), one element per proxy hop, nearest last. It is
   * available whether or not proxies are trusted; `host`, `scheme` and `remote` use it only
   * when the application trusts proxies.
   */
  get forwarded(): readonly ForwardedElement[] {
    const more = this.#m();
    return (more.forwarded ??= parseForwarded(this.headers.getAll("Forwarded")));
  }

  /** Connection details, after asyncio's `get_extra_info`. */
  getExtraInfo(name: "peername" | "sockname"): [string, number] | null;
  getExtraInfo(name: "socket"): Socket;
  getExtraInfo(name: "peercert"): ReturnType<TLSSocket["getPeerCertificate"]> | null;
  getExtraInfo(name: "cipher"): ReturnType<TLSSocket["getCipher"]> | null;
  getExtraInfo(name: ExtraInfoName): unknown {
    const sock = this.socket;
    switch (name) {
      case "peername":
        return sock.remoteAddress === undefined ? null : [sock.remoteAddress, sock.remotePort];
      case "sockname":
        return sock.localAddress === undefined ? null : [sock.localAddress, sock.localPort];
      case "socket":
        return sock;
      case "peercert":
        return (sock as TLSSocket).encrypted ? (sock as TLSSocket).getPeerCertificate() : null;
      case "cipher":
        return (sock as TLSSocket).encrypted ? (sock as TLSSocket).getCipher() : null;
    }
  }

  /**
   * Fires when the client goes away before the response is complete, so a handler can stop
   * work (pass it to fetch, database calls, timers).
   */
  get signal(): AbortSignal {
    const more = this.#m();
    if (more.abort === undefined) {
      const ac = new AbortController();
      more.abort = ac;
      const res = this.rawResponse;
      if (res.writableFinished) return ac.signal;
      if (res.destroyed || this.raw.socket?.destroyed) {
        ac.abort(new Error("Client disconnected"));
        return ac.signal;
      }
      res.once("close", () => {
        if (!res.writableFinished) ac.abort(new Error("Client disconnected"));
      });
    }
    return more.abort.signal;
  }

  // ---- routing and state ---------------------------------------------------------------

  /** The variable parts of the matched route, percent-decoded. */
  get matchInfo(): P {
    return (this.#matchInfo?.params ?? EMPTY_PARAMS) as P;
  }

  /** The result of routing: route, handler, applications. `null` before routing. */
  get matchResult(): MatchInfo | null {
    return this.#matchInfo;
  }

  /** The application that owns the matched route (a sub-application for its routes). */
  get app(): Application {
    if (this.#app === null) throw new Error("request.app is not available before routing");
    return this.#app;
  }

  /** @internal records the result of routing */
  [kSetMatchInfo](matchInfo: MatchInfo): void {
    this.#matchInfo = matchInfo;
  }

  /** @internal set while middlewares of each application run */
  [kSetCurrentApp](app: AnyApplication): void {
    this.#app = app;
    this.#clientMaxSize = app.clientMaxSize;
  }

  /** @internal a body size limit other than the application's, for a request made by hand */
  [kSetClientMaxSize](size: number): void {
    this.#clientMaxSize = size;
  }

  /** Stores per-request state (an auth middleware keeps the user for the handler). */
  set<T>(key: RequestKey<T>, value: T): void {
    this.#store().set(key as RequestKey<unknown>, value);
  }

  /**
   * Reads per-request state; for an `AppKey`, falls back to the application and then its
   * parents.
   */
  get<T>(key: RequestKey<T> | AppKey<T>): T | undefined {
    const state = this.#more?.state;
    if (state?.hasOwn(key as RequestKey<unknown>)) {
      return state.get(key as RequestKey<unknown>) as T;
    }
    if (key instanceof RequestKey) return undefined;
    return this.#app?.get(key as AppKey<T>);
  }

  /** Whether `key` is set on the request (or, for an `AppKey`, on the application chain). */
  has(key: RequestKey<unknown> | AppKey<unknown>): boolean {
    if (this.#more?.state?.hasOwn(key)) return true;
    return !(key instanceof RequestKey) && this.#app?.has(key as AppKey<unknown>) === true;
  }

  #store(): StateStore<RequestKey<unknown> | AppKey<unknown>> {
    const more = this.#m();
    return (more.state ??= new StateStore());
  }

  // ---- body ----------------------------------------------------------------------------

  /** Whether the request carries a body (`Content-Length` > 0 or chunked). */
  get bodyExists(): boolean {
    const h = this.raw.headers;
    const len = h["content-length"];
    return (
      (len !== undefined && len !== "0") ||
      h["transfer-encoding"] !== undefined ||
      (this.raw as { [kStreamedBody]?: boolean })[kStreamedBody] === true
    );
  }

  /** Whether there is body left to read. */
  get canReadBody(): boolean {
    if (!this.bodyExists) return false;
    const content = this.#more?.content;
    return content === undefined ? !this.raw.readableEnded : !content.atEof();
  }

  /**
   * The body as a stream, read with backpressure. Reading more than the application's
   * `clientMaxSize` through `read()`/`text()`/`json()`/`post()` fails with 413; the stream
   * itself is not limited, so a handler can accept large uploads chunk by chunk. A body sent
   * with `Content-Encoding` (gzip, deflate, br, zstd) is decompressed, up to the application's
   * `maxDecompressSize` (413 past it); another coding is a 415 `HTTPUnsupportedMediaType`.
   */
  get content(): StreamReader {
    const more = this.#m();
    if (more.content === undefined) {
      if (!this.bodyExists) {
        more.content = StreamReader.empty();
      } else {
        const codings = requestCodings(this.raw.headers["content-encoding"]);
        more.content =
          codings.length === 0
            ? new StreamReader(this.#bodyStream())
            : decodedReader(this.raw, this.#bodyStream(), codings, this.#maxDecompressSize());
      }
    }
    return more.content;
  }

  /** Where the body comes from: the message itself over HTTP/1.1, the stream over HTTP/2. */
  #bodyStream(): Readable {
    return (this.raw as { [kBodyStream]?: Readable })[kBodyStream] ?? this.raw;
  }

  #maxDecompressSize(): number {
    return this.#app?.maxDecompressSize ?? DEFAULT_MAX_DECOMPRESS_SIZE;
  }

  /**
   * Reads the whole body. A body over `clientMaxSize` fails with `HTTPRequestEntityTooLarge`
   * (413) as soon as the limit is crossed, without buffering the rest.
   */
  async read(): Promise<Buffer> {
    const more = this.#m();
    if (more.body !== undefined) return more.body;
    const max = this.#clientMaxSize;
    if (more.content === undefined && this.bodyExists) {
      const codings = requestCodings(this.raw.headers["content-encoding"]);
      if (codings.length > 0) {
        // A decompressed body is capped too: a small bomb must not fill memory.
        more.content = decodedReader(
          this.raw,
          this.#bodyStream(),
          codings,
          max > 0 ? max : this.#maxDecompressSize(),
        );
      } else {
        const declared = this.contentLength;
        if (max > 0 && declared !== undefined && declared > max) {
          throw new HTTPRequestEntityTooLarge(max, declared);
        }
        more.content = new StreamReader(this.#bodyStream(), {
          ...(max > 0 ? { maxSize: max } : {}),
          onTooLarge: (received, limit) => new HTTPRequestEntityTooLarge(limit, received),
        });
      }
    }
    const body = await this.content.read();
    more.body = body;
    if (max > 0 && body.length > max) {
      throw new HTTPRequestEntityTooLarge(max, body.length);
    }
    return body;
  }

  /** The body decoded with its charset (UTF-8 when none is given). */
  async text(): Promise<string> {
    const body = await this.read();
    const charset = this.charset ?? "utf-8";
    if (charset === "utf-8" || charset === "utf8") return body.toString("utf8");
    try {
      return new TextDecoder(charset).decode(body);
    } catch (err) {
      throw new HTTPBadRequest({ text: `Unsupported charset: ${charset}`, cause: err });
    }
  }

  /**
   * The body parsed as JSON. A malformed body is a 400 `HTTPBadRequest` naming the problem.
   * @param loads a custom parser, e.g. one with a reviver
   */
  async json<T = unknown>(loads: (text: string) => T = JSON.parse): Promise<T> {
    const text = await this.text();
    try {
      return loads(text);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new HTTPBadRequest({ text: `Malformed JSON body: ${detail}`, cause: err });
    }
  }

  /**
   * The fields of a form: an `application/x-www-form-urlencoded` body (all values strings) or
   * a `multipart/form-data` one, whose files are `FileField`s (as are parts without a file name
   * that are not text); other content types give an empty result, as in aiohttp. All fields and
   * files together may be `clientMaxSize` bytes (413 past it); files over
   * `formLimits.maxMemoryFileSize` are written to temporary files, deleted when the request
   * ends. A malformed form, or one over a `formLimits` limit, is a 400 or a 413. The result is
   * cached.
   */
  async post(): Promise<MultiDictProxy<string | FileField>> {
    const more = this.#m();
    if (more.form !== undefined) return more.form;
    const type = this.contentType;
    if (this.method === "GET" || this.method === "HEAD" || !FORM_TYPES.has(type)) {
      return (more.form = new MultiDictProxy());
    }
    const limits = this.#app?.formLimits ?? DEFAULT_FORM_LIMITS;
    if (type === "multipart/form-data") {
      const body = more.body;
      const source = body === undefined ? this.content : Readable.from([body]);
      const entries = await parseMultipart(this.headers, source, {
        limits,
        maxSize: this.#clientMaxSize,
        uploadDir: () => uploadDirOf(this.raw),
      });
      return (more.form = new MultiDictProxy<FormValue>(entries));
    }
    const params = new URLSearchParams(await this.text());
    let count = 0;
    for (const key of params.keys()) {
      if (++count > limits.maxParts) {
        throw new HTTPRequestEntityTooLarge(limits.maxParts, null, {
          text: `Too many fields in the form (at most ${limits.maxParts})`,
        });
      }
      const max = limits.maxFieldNameSize;
      // A UTF-16 unit is at most 3 UTF-8 bytes: short names are not measured.
      if (key.length * 3 > max && Buffer.byteLength(key) > max) {
        throw new HTTPBadRequest({
          text: `Field name longer than ${limits.maxFieldNameSize} bytes`,
        });
      }
    }
    return (more.form = new MultiDictProxy<FormValue>(params));
  }

  /**
   * A streaming reader of a `multipart/*` body, part by part (aiohttp's `request.multipart()`):
   * `for await (const part of await request.multipart())`. Nothing is buffered beyond a part's
   * chunk, so `clientMaxSize` does not apply: it is the way to accept large uploads. A body that
   * is not multipart is a 400; malformed multipart found while reading rejects with
   * `HTTPBadRequest` (400), as do part headers over the limits; a compressed part decoding past
   * `maxDecodedSize` rejects with `HTTPRequestEntityTooLarge` (413). After `read()`, the parts
   * come from the buffered body; after `post()` of a multipart body it throws (the parts are in
   * the form `post()` returned).
   * @param options the reader's limits (`maxHeaderSize`, `maxHeaderCount`, `maxDecodedSize`)
   */
  async multipart(options: RequestMultipartOptions = {}): Promise<MultipartReader> {
    // After read() (a middleware checking a signature over the raw body), the parts come from
    // the buffered body, as post() does, instead of an exhausted stream.
    const body = this.#more?.body;
    if (
      body === undefined &&
      this.#more?.form !== undefined &&
      this.contentType === "multipart/form-data"
    ) {
      // Otherwise the reader finds the stream post() exhausted and blames the client's boundary.
      throw new Error(
        "request.multipart() after request.post() read the multipart body: use the form post() returned",
      );
    }
    const source = body === undefined ? this.content : Readable.from([body]);
    return new MultipartReader(this.headers, source, {
      ...options,
      mapError: multipartHttpError,
    });
  }

  /** Reads and discards the rest of the body, so the connection can be reused. */
  async release(): Promise<void> {
    if (!this.bodyExists || this.raw.readableEnded) return;
    const content = this.#more?.content;
    if (content === undefined) {
      this.raw.resume();
      return;
    }
    while ((await content.readany()).length > 0) {
      // discard
    }
  }

  /**
   * A copy with some parts replaced; the body is shared. Middlewares use it to rewrite a
   * request before passing it on.
   */
  clone(options: CloneOptions = {}): Request<P> {
    const copy = new Request<P>(
      this.raw,
      this.#rawResponse,
      this.#ctx,
      this.#expect,
      this.#upgrade,
    );
    copy.#matchInfo = this.#matchInfo;
    copy.#app = this.#app;
    const more = copy.#m();
    const mine = this.#more;
    if (mine !== undefined) {
      more.state = mine.state;
      more.content = mine.content;
      more.body = mine.body;
      more.form = mine.form;
      more.abort = mine.abort;
    }
    copy.#clientMaxSize = this.#clientMaxSize;
    copy.#method = options.method?.toUpperCase() ?? this.method;
    if (options.relUrl !== undefined) {
      const rel = options.relUrl;
      copy.#rawPathAndQuery = typeof rel === "string" ? rel : `${rel.pathname}${rel.search}`;
      if (!copy.#rawPathAndQuery.startsWith("/")) {
        throw new TypeError(`relUrl must be a path starting with "/": ${copy.#rawPathAndQuery}`);
      }
    } else {
      copy.#rawPathAndQuery = this.rawPathAndQuery;
    }
    more.headers =
      options.headers === undefined
        ? this.headers
        : options.headers instanceof CIMultiDictProxy
          ? options.headers
          : new CIMultiDictProxy(options.headers);
    if (options.host !== undefined) more.host = options.host;
    if (options.scheme !== undefined) more.scheme = options.scheme;
    if (options.remote !== undefined) more.remote = options.remote;
    return copy;
  }

  #m(): RequestMore {
    return (this.#more ??= new RequestMore());
  }

  /** @internal the server's context, shared by its requests */
  get [kCtx](): RequestContext {
    return this.#ctx;
  }

  toString(): string {
    return `<Request ${this.method} ${this.path}>`;
  }

  /** What the trusted proxies say about `field`, if anything. */
  #trusted(field: ForwardedField): string | undefined {
    const trust = this.#ctx.trustProxy;
    if (trust === false) return undefined;
    return trustedValue(field, trust, this.forwarded, this.raw.headers, this.#peer ?? "");
  }
}

/**
 * What a request computes, or is given, only when a handler asks: its headers, query, URL,
 * body... Apart from the request, so that one nobody asks these of (a routed GET, a WebSocket
 * while it is open) is 13 fields, not 27. One shape, every field set from the start.
 */
class RequestMore {
  state: StateStore<RequestKey<unknown> | AppKey<unknown>> | undefined = undefined;
  headers: CIMultiDictProxy | undefined = undefined;
  query: MultiDictProxy | undefined = undefined;
  cookies: Readonly<Record<string, string>> | undefined = undefined;
  contentType: ContentType | undefined = undefined;
  url: URL | undefined = undefined;
  host: string | undefined = undefined;
  scheme: string | undefined = undefined;
  remote: string | null | undefined = undefined;
  forwarded: readonly ForwardedElement[] | undefined = undefined;
  content: StreamReader | undefined = undefined;
  body: Buffer | undefined = undefined;
  form: MultiDictProxy<FormValue> | undefined = undefined;
  abort: AbortController | undefined = undefined;
}

const FORM_TYPES: ReadonlySet<string> = new Set([
  "application/x-www-form-urlencoded",
  "multipart/form-data",
]);

/** RFC 3986 3.2.2: a reg-name, IPv4 address or bracketed IP literal, and an optional port. */
export const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d*)?$/;

/**
 * The URL of a request target on `origin`. RFC 9112 3.2.1: an origin-form target is a path, so
 * it is appended to the origin; resolving it as a reference would read `//x/y` as host `x`.
 */
function targetUrl(target: string, origin: string): URL {
  try {
    return target.startsWith("/") ? new URL(origin + target) : new URL(target, origin);
  } catch (err) {
    throw new HTTPBadRequest({ text: "Invalid request target", cause: err });
  }
}

function hostOf(sock: Socket): string {
  const addr = sock.localAddress ?? "localhost";
  const host = addr.includes(":") ? `[${addr}]` : addr;
  return sock.localPort ? `${host}:${sock.localPort}` : host;
}
