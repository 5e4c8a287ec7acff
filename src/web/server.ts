// The glue between node:http and an Application: protocol limits, the request loop, error
// responses, access logging, and the bookkeeping graceful shutdown needs.

import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { ServerHttp2Session } from "node:http2";
import {
  createServer as createHttpsServer,
  type ServerOptions as HttpsServerOptions,
} from "node:https";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { StreamClosedError } from "../http/stream-reader.js";
import { keepTickObjectShape } from "../http/tick-shape.js";
import { AbstractAccessLogger, AccessLogger, type AccessLogSink } from "./access-log.js";
import type { AnyApplication, Logger } from "./application.js";
import { HTTPException } from "./exceptions.js";
import { discardUploads } from "./form/temp-files.js";
import type { TrustProxy } from "./forwarded.js";
import {
  createNodeHttp2Server,
  type Http2Mode,
  isHttp2Response,
  type NodeHttp2Server,
  resetStream,
  sweepSessions,
  whenStreamClosed,
} from "./http2.js";
import type { H2IncomingRequest } from "./http2-exchange.js";
import {
  type OpenEventStream,
  type OpenWebSocket,
  Request,
  type RequestContext,
  VALID_HOST,
} from "./request.js";
import { ClientDisconnectedError, preparedResponse, Response, StreamResponse } from "./response.js";
import type { HandlerResult } from "./router/route.js";
import { STATUS_REASONS } from "./status.js";
import {
  kAllFields,
  kAuthority,
  kCut,
  kFinish,
  kFirstField,
  kHandle,
  kUpgrade,
} from "./symbols.js";
import { UpgradedSockets, UpgradeInfo } from "./upgrade.js";

/** Protocol limits and timeouts of a server; every one has a default. */
export interface ServerLimits {
  /** Longest request line (method, target, version), bytes; @default 8190 */
  maxLineSize?: number;
  /** Longest header line (name, colon, value), bytes; @default 8190 */
  maxFieldSize?: number;
  /** Most header fields in a request; @default 128 */
  maxHeaders?: number;
  /** Time allowed to receive the request line and headers, ms; @default 60_000 */
  headersTimeout?: number;
  /** Time allowed to receive a whole request, body included, ms (0: none); @default 300_000 */
  requestTimeout?: number;
  /** How long an idle keep-alive connection stays open, ms; @default 75_000 */
  keepaliveTimeout?: number;
}

/** Options of the request-handling server behind `AppRunner`. */
export interface ServerOptions extends ServerLimits {
  /**
   * Access log: a sink such as `console` (one line per request in `accessLogFormat`), a
   * custom `AbstractAccessLogger`, or `null` for none. @default console
   */
  accessLog?: AccessLogSink | AbstractAccessLogger | null;
  /** @default aiohttp's `%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"` */
  accessLogFormat?: string;
  /**
   * What a client disconnecting mid-request does (aiohttp's `handler_cancellation`). Either
   * way `request.signal` aborts and pending body reads reject, since no more body can come.
   * With `true` the request ends there: the server stops waiting for the handler (graceful
   * shutdown does not wait for it either) and ignores its eventual result; the handler should
   * stop on `request.signal`. With `false` the server waits for the handler to run to its end
   * and drops what it writes. @default false
   */
  handlerCancellation?: boolean;
  /** Where unexpected errors are logged; @default the application's logger */
  logger?: Logger;
  /**
   * HTTP/2 for the sites of this server (a site's own `http2` option wins): `true` serves
   * HTTP/2 over TLS (needs `ssl`) with HTTP/1.1 by ALPN for clients that do not offer h2,
   * WebSockets included; `"h2c"` serves cleartext HTTP/2 with prior knowledge only. See
   * docs/http2.md. @default false
   */
  http2?: Http2Mode;
}

/** The node server behind a site: node:http, node:https or node:http2. */
export type NodeServer = HttpServer | NodeHttp2Server;

/** Node http server options that enforce the limits (never the lenient parser). */
export function nodeServerOptions(limits: Required<ServerLimits>): Record<string, unknown> {
  const smallest = Math.min(
    limits.headersTimeout,
    limits.requestTimeout || Number.POSITIVE_INFINITY,
  );
  return {
    // Node's limit covers the request line and all header lines together; the per-line limits
    // are checked on each request.
    maxHeaderSize: Math.max(
      16 * 1024,
      limits.maxLineSize + limits.maxFieldSize * Math.min(limits.maxHeaders, 16),
    ),
    // Checked with the other header rules (#checkRequest), so that what is pipelined behind a
    // request refused for it is never handled.
    requireHostHeader: false,
    insecureHTTPParser: false,
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepaliveTimeout,
    connectionsCheckingInterval: Math.max(25, Math.min(30_000, Math.floor(smallest / 4))),
  };
}

/** Serves one application over any number of node:http servers (one per site). */
export class WebServer {
  readonly app: AnyApplication;
  readonly limits: Required<ServerLimits>;
  readonly #logger: Logger;
  readonly #accessLog: AbstractAccessLogger | null;
  readonly #ctx: { -readonly [K in keyof RequestContext]: RequestContext[K] };
  readonly #servers = new Set<NodeServer>();
  readonly #http2: Http2Mode;
  /** Open HTTP/2 sessions, told to go away on shutdown. */
  readonly #sessions = new Set<ServerHttp2Session>();
  /** Connections of node:http2 servers (they have no closeAllConnections). */
  readonly #http2Sockets = new Set<Socket>();
  #inFlight = 0;
  #idle: (() => void) | null = null;
  #requestCount = 0;
  /**
   * HTTP/1.x connections whose last request was refused or could not be parsed: the requests
   * node's parser still reads behind it (pipelined) are never handled, as they cannot be
   * trusted to start where the refused one ended.
   */
  readonly #refused = new WeakSet<Socket>();
  /** HTTP/1.1 connections' pipelined requests waiting for the answers before theirs. */
  readonly #pipelined = new WeakMap<Socket, number>();
  /** The listener for requests with an `Expect` header (Node tells them apart for us). */
  readonly #handleExpect: (req: IncomingMessage, res: ServerResponse) => void;
  /** The request listener, bound once. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;

  constructor(app: AnyApplication, options: ServerOptions = {}) {
    // Every request goes through process.nextTick several times (node's streams): see there.
    keepTickObjectShape();
    this.app = app;
    this.limits = {
      maxLineSize: options.maxLineSize ?? 8190,
      maxFieldSize: options.maxFieldSize ?? 8190,
      maxHeaders: options.maxHeaders ?? 128,
      headersTimeout: options.headersTimeout ?? 60_000,
      requestTimeout: options.requestTimeout ?? 300_000,
      keepaliveTimeout: options.keepaliveTimeout ?? 75_000,
    };
    // Node refuses a headers timeout longer than the request timeout; the headers are part of
    // the request, so a short requestTimeout bounds them too.
    const { headersTimeout, requestTimeout } = this.limits;
    if (requestTimeout > 0 && headersTimeout > requestTimeout) {
      this.limits.headersTimeout = requestTimeout;
    }
    this.#logger = options.logger ?? app.logger;
    this.#http2 = options.http2 ?? false;
    const sink = options.accessLog === undefined ? console : options.accessLog;
    this.#accessLog =
      sink === null
        ? null
        : sink instanceof AbstractAccessLogger
          ? sink
          : new AccessLogger(sink, options.accessLogFormat);
    if (this.#accessLog !== null && !this.#accessLog.enabled) this.#accessLog = null;
    this.#ctx = {
      trustProxy: app.trustProxy as TrustProxy,
      handlerCancellation: options.handlerCancellation ?? false,
      debug: app.debug,
      logger: this.#logger,
      closing: false,
      websockets: new Set<OpenWebSocket>(),
      eventStreams: new Set<OpenEventStream>(),
      upgraded: new UpgradedSockets(this.#logger),
    };
    this.handle = (req, res) => {
      this.#onRequest(req, res, false);
    };
    this.#handleExpect = (req, res) => {
      this.#onRequest(req, res, true);
    };
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Requests handled since start. */
  get requestCount(): number {
    return this.#requestCount;
  }

  /**
   * Creates a node:http (or node:https, given TLS options) server wired to this one; with
   * `http2`, a node:http2 server.
   */
  createNodeServer(tls?: HttpsServerOptions, http2: Http2Mode = this.#http2): NodeServer {
    if (http2 !== false) return this.#createHttp2Server(tls, http2);
    const opts = nodeServerOptions(this.limits);
    const server: HttpServer =
      tls === undefined
        ? createServer(opts, this.handle)
        : createHttpsServer({ ...tls, ...opts }, this.handle);
    server.keepAliveTimeout = this.limits.keepaliveTimeout;
    server.headersTimeout = this.limits.headersTimeout;
    server.requestTimeout = this.limits.requestTimeout;
    // With this listener Node stops answering `Expect: 100-continue` itself; the route's expect
    // handler does.
    server.on("checkContinue", this.#handleExpect);
    this.#wireHttp1(server);
    return this.#track(server);
  }

  /**
   * What node:http's machinery needs on a server that speaks HTTP/1.1 (an http or https site,
   * or an HTTP/2 site's ALPN fallback): the header count limit, other expectations, parse
   * errors and WebSocket upgrades.
   */
  #wireHttp1(server: HttpServer | NodeHttp2Server): void {
    (server as { maxHeadersCount: number }).maxHeadersCount = this.limits.maxHeaders + 1;
    server.on("checkExpectation", this.#handleExpect);
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) =>
      this.#onClientError(err, socket),
    );
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#onUpgrade(server, req, socket, head),
    );
  }

  /** Keeps `server` among the ones to close, until it closes. */
  #track<S extends NodeServer>(server: S): S {
    this.#servers.add(server);
    server.once("close", () => this.#servers.delete(server));
    return server;
  }

  #createHttp2Server(tls: HttpsServerOptions | undefined, mode: true | "h2c"): NodeHttp2Server {
    const limits = this.limits;
    const server = createNodeHttp2Server(
      mode,
      tls,
      {
        // The whole header block of a request, as node:http's maxHeaderSize for HTTP/1.1.
        maxHeaderListSize: nodeServerOptions(limits).maxHeaderSize as number,
        maxHeaders: limits.maxHeaders,
        requestTimeout: limits.requestTimeout,
      },
      {
        request: this.handle,
        stream: (req, res, expect) => this.#onStream(req, res, expect),
      },
    );
    server.on("session", (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
      // A session that arrives while shutting down gets no new streams.
      if (this.#ctx.closing) session.close();
    });
    if (limits.keepaliveTimeout > 0) sweepSessions(server, this.#sessions, limits.keepaliveTimeout);
    server.on("connection", (socket: Socket) => {
      this.#http2Sockets.add(socket);
      socket.once("close", () => this.#http2Sockets.delete(socket));
    });
    if (mode === true) {
      // HTTP/1.1 connections (ALPN fallback) go through node:http's machinery on this server:
      // the same limits, Expect, parse errors and WebSocket upgrades as an https site.
      Object.assign(server, nodeServerOptions(limits));
      server.on("checkContinue", this.#handleExpect);
      this.#wireHttp1(server);
    }
    return this.#track(server);
  }

  /**
   * Stops taking requests: listening sockets close, idle keep-alive connections close, and
   * responses sent from now on (in-flight ones included) carry `Connection: close`.
   */
  stopAccepting(): void {
    // Responses whose head is not written yet see this and send `Connection: close`.
    this.#ctx.closing = true;
    for (const server of this.#servers) {
      server.close();
      if ("closeIdleConnections" in server) server.closeIdleConnections();
    }
    // RFC 9113 6.8: GOAWAY; the streams already open run to their end, then the session closes.
    for (const session of this.#sessions) session.close();
  }

  /** Waits until no request is in flight, or `timeoutMs` passes; returns whether it drained. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => {
        this.#idle = () => resolve(true);
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.#idle = null;
    return drained;
  }

  /** Open WebSockets. */
  get webSocketCount(): number {
    return this.#ctx.websockets.size;
  }

  /**
   * Closes every open WebSocket with 1001 (going away) and waits for the close handshakes
   * (each bounded by its close timeout).
   */
  async closeWebSockets(message = "Server shutdown"): Promise<void> {
    const open = [...this.#ctx.websockets];
    await Promise.allSettled(open.map((ws) => ws.close({ code: 1001, message })));
  }

  /**
   * Ends every open event stream (EventSourceResponse) after the events already queued, so
   * their handlers, waiting in `wait()` or on `send()`, return like any other request. Does
   * not wait: a stream whose client stopped reading is cut by the shutdown timeout.
   */
  closeEventStreams(): void {
    for (const stream of this.#ctx.eventStreams) {
      stream.close().catch((err: unknown) => {
        this.#logger.debug?.(`Could not end an event stream on shutdown: ${String(err)}`);
      });
    }
  }

  /** Closes every connection, idle or not, WebSockets included. */
  closeAllConnections(): void {
    for (const server of this.#servers) {
      if ("closeAllConnections" in server) {
        server.closeIdleConnections();
        server.closeAllConnections();
      }
    }
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#http2Sockets) socket.destroy();
    this.#ctx.upgraded.destroyAll();
    for (const ws of this.#ctx.websockets) ws.terminate();
  }

  #onRequest(req: IncomingMessage, res: ServerResponse, expect: boolean): void {
    // A pipelined request waits for the answers before it, as in aiohttp: one that closes the
    // connection (a refusal, an error) means it is never handled, rather than handled and
    // never answered. node:http hands the socket over once the previous response is done.
    if (res.socket === null) {
      this.#queue(req, res, expect);
      return;
    }
    // Behind a refusal, or parsed once an answer that closes the connection is out: its own
    // answer could never be sent.
    if (this.#refused.has(req.socket) || !req.socket.writable) return;
    if (this.#admit(req, res)) this.#dispatch(new Request(req, res, this.#ctx, expect));
  }

  /** A request on an HTTP/2 stream: nothing is pipelined, no connection is refused. */
  #onStream(req: IncomingMessage, res: ServerResponse, expect: boolean): void {
    if (this.#admit(req, res, true)) this.#dispatch(new Request(req, res, this.#ctx, expect));
  }

  /**
   * Holds a pipelined request until its response gets the socket. Past PIPELINE_DEPTH waiting
   * requests the connection stops being read, so that a flood of pipelined requests costs a
   * bounded amount of memory.
   */
  #queue(req: IncomingMessage, res: ServerResponse, expect: boolean): void {
    const socket = req.socket;
    const waiting = (this.#pipelined.get(socket) ?? 0) + 1;
    this.#pipelined.set(socket, waiting);
    if (waiting === PIPELINE_DEPTH) socket.pause();
    res.once("socket", () => {
      const left = (this.#pipelined.get(socket) ?? 1) - 1;
      this.#pipelined.set(socket, left);
      if (left === PIPELINE_DEPTH - 1) socket.resume();
      this.#onRequest(req, res, expect);
    });
  }

  /**
   * Counts the request in flight; refuses it (and returns false) when over a limit. `res` is
   * the connection of an upgrade request, which makes its response only when needed.
   */
  #admit(req: IncomingMessage, res: ServerResponse | UpgradeInfo, http2 = false): boolean {
    this.#inFlight++;
    this.#requestCount++;
    const status = this.#checkRequest(req, http2);
    if (status === 0) return true;
    if (!http2) this.#refused.add(req.socket);
    this.#sendError(res instanceof UpgradeInfo ? res.response() : res, status);
    this.#done();
    return false;
  }

  /**
   * Node hands over every request with `Connection: Upgrade` here, detached from its HTTP
   * parser. A WebSocket handshake (GET, `Upgrade: websocket`) runs the normal handler chain
   * with a response bound to the raw socket, so routing, middlewares and `onResponsePrepare`
   * apply; any other upgrade (h2c...) is ignored as RFC 9110 7.8 allows and the request goes
   * back to the HTTP parser without its `Upgrade` header.
   */
  #onUpgrade(server: NodeServer, req: IncomingMessage, socket: Socket, head: Buffer): void {
    // Node removed its own error handling from the socket when it detached it, and responses
    // to requests pipelined before this one may still be writing to it.
    const upgraded = this.#ctx.upgraded;
    upgraded.add(socket);
    afterPipelined(socket, () => {
      if (req.method !== "GET" || !WEBSOCKET_UPGRADE.test(upgradeHeader(req.rawHeaders))) {
        // Back to node:http, which handles the connection's errors and close itself.
        upgraded.remove(socket);
        reparse(server, req, socket, head);
      } else {
        this.#upgrade(req, socket, head);
      }
    });
  }

  /** Runs a WebSocket handshake request on `socket`, which nothing else writes to any more. */
  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const upgrade = new UpgradeInfo(req, socket, head);
    // No ServerResponse yet: one is made only if the handshake is refused (or a handler asks).
    if (!this.#admit(req, upgrade)) return;
    this.#dispatch(new Request(req, null, this.#ctx, false, upgrade));
  }

  /**
   * 0 when the request is within the limits and well-formed, else the status to refuse it with.
   * An absolute-form target naming the Host it came with is rewritten to origin-form.
   */
  #checkRequest(req: IncomingMessage, http2: boolean): number {
    // Over HTTP/2, node:http2's own list, past its pseudo-headers: no copy (see H2IncomingRequest).
    const h2 = http2 ? (req as unknown as H2IncomingRequest) : null;
    const raw = h2 === null ? req.rawHeaders : h2[kAllFields];
    const start = h2 === null ? 0 : h2[kFirstField];
    const authority = h2 === null ? undefined : h2[kAuthority];
    const limits = this.limits;
    if (raw.length - start > limits.maxHeaders * 2) return 431;
    // Request line: METHOD SP target SP HTTP/x.y
    if ((req.method?.length ?? 0) + (req.url?.length ?? 0) + 10 > limits.maxLineSize) return 414;
    // `:authority` is read as the Host field (RFC 9113 8.3.1), and bounded as one.
    if (authority !== undefined && authority.length + 6 > limits.maxFieldSize) return 431;
    let hosts = 0;
    let host: string | undefined;
    let lengths = 0;
    let codings: string | undefined;
    for (let i = start; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      if (name.length + value.length + 2 > limits.maxFieldSize) return 431;
      // Lower-case as most clients (and every HTTP/2 one) send them, else the regex.
      if (name.length === 4 && (name === "host" || HOST.test(name))) {
        hosts++;
        host = value;
      } else if (name.length === 14 && (name === "content-length" || CONTENT_LENGTH.test(name))) {
        lengths++;
      } else if (
        name.length === 17 &&
        (name === "transfer-encoding" || TRANSFER_ENCODING.test(name))
      ) {
        codings = value;
      }
    }
    // RFC 9112 3.2 and 6.3: one Host, one Content-Length, else the message is invalid.
    if (hosts > 1 || lengths > 1) return 400;
    if (http2) {
      // RFC 9113 8.3.1: a Host naming another entity than `:authority` makes the request
      // malformed (a proxy may have routed it by the one, the application would read the other).
      if (authority === undefined || host === undefined || host === authority) return 0;
      return host.toLowerCase() === authority.toLowerCase() ? 0 : 400;
    }
    // llhttp reads `HTTP/2.0` and a bare `GET /` (0.9) too; neither is spoken over this parser.
    if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) return 505;
    // RFC 9112 3.2: HTTP/1.1 needs a Host, and an invalid one is a 400 (an empty one is allowed).
    if (host === undefined ? req.httpVersionMinor >= 1 : host !== "" && !VALID_HOST.test(host)) {
      return 400;
    }
    if (codings !== undefined) {
      // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; a body whose last coding
      // is not chunked has no end; a coding not understood is a 501.
      if (req.httpVersionMinor === 0 || !LAST_CHUNKED.test(codings)) return 400;
      if (!ONLY_CHUNKED.test(codings)) return 501;
    }
    const target = req.url ?? "/";
    if (target.charCodeAt(0) !== 0x2f && target !== "*") return absoluteToOrigin(req, target, host);
    return 0;
  }

  // The common path takes no `async` frame of its own: a handler's promise is followed with
  // one `then`, and a response handed to node whole is finished synchronously.
  #dispatch(request: Request): void {
    const started = this.#accessLog === null ? 0 : performance.now();
    // Once upgraded, a WebSocket handler lives as long as its connection: a disconnect ends
    // it through the message loop, not by cancellation.
    if (this.#ctx.handlerCancellation && request[kUpgrade] === null) {
      void this.#dispatchCancellable(request, started);
      return;
    }
    let handled: HandlerResult | Promise<HandlerResult>;
    try {
      handled = this.app[kHandle](request);
    } catch (err) {
      this.#onHandlerError(err, request, started);
      return;
    }
    if (handled instanceof Promise) {
      handled.then(
        (result) => this.#send(request, this.#toResponse(result, request), started),
        (err: unknown) => this.#onHandlerError(err, request, started),
      );
    } else {
      this.#send(request, this.#toResponse(handled, request), started);
    }
  }

  /** With `handlerCancellation`, a client going away ends the request before the handler. */
  async #dispatchCancellable(request: Request, started: number): Promise<void> {
    let result: HandlerResult | typeof CANCELLED;
    try {
      result = await untilDisconnect(
        Promise.resolve(this.app[kHandle](request)),
        request.rawResponse,
      );
    } catch (err) {
      this.#onHandlerError(err, request, started);
      return;
    }
    if (result === CANCELLED) {
      // aiohttp cancels the handler task here; a promise cannot be cancelled, so the handler is
      // left to notice `request.signal` and its result is ignored. The request stops counting
      // as in flight, so shutdown does not wait for it.
      this.#logger.debug?.(`Client disconnected during ${request.method} ${request.path}`);
      this.#complete(
        request,
        new Response({ status: 499, reason: "Client Closed Request" }),
        started,
      );
      return;
    }
    this.#send(request, this.#toResponse(result, request), started);
  }

  /** The response to send for what the handler chain gave back. */
  #toResponse(result: unknown, request: Request): StreamResponse {
    if (result instanceof StreamResponse) return result;
    if (result instanceof HTTPException) return exceptionResponse(result);
    return this.#errorResponse(
      new TypeError(
        `A handler must return a response (web.Response, web.StreamResponse...), got ${describe(result)}`,
      ),
      request,
    );
  }

  /** Sends the response (synchronously when node takes it whole), then completes the request. */
  #send(request: Request, response: StreamResponse, started: number): void {
    // A WebSocket's connection is its own once the 101 is out: no HTTP response is left to
    // check (asking for one would make it, and node's request again, for nothing).
    if (!takenOver(request)) {
      const res = request.rawResponse;
      if (res.destroyed && (this.#ctx.handlerCancellation || !response.prepared)) {
        this.#complete(request, response, started);
        return;
      }
      // The rest of a body refused for its size or form is not read: the connection cannot be
      // reused.
      const refused = response.status === 413 || response.status === 400;
      if (refused && !res.headersSent && request.canReadBody) response.forceClose();
    }
    let sending: Promise<void> | undefined;
    try {
      sending = response[kFinish](request);
    } catch (err) {
      this.#onSendError(err, request, response, started);
      return;
    }
    if (sending === undefined) {
      this.#afterSend(request, response, started);
      return;
    }
    sending.then(
      () => this.#afterSend(request, response, started),
      (err: unknown) => this.#onSendError(err, request, response, started),
    );
  }

  #afterSend(request: Request, response: StreamResponse, started: number): void {
    // A WebSocket session's end (kFinish) waited for its connection to close.
    if (takenOver(request)) {
      this.#complete(request, response, started);
      return;
    }
    const res = request.rawResponse;
    // A body node could not hand to the kernel at once still sits in its buffers; the request
    // is in flight until that is flushed ('close' follows 'finish'), or shutdown would cut it.
    // Most bodies leave nothing behind, and cost no listener.
    if (res.writableFinished || res.destroyed || (res.writableEnded && res.writableLength === 0)) {
      this.#complete(request, response, started);
      return;
    }
    if (isHttp2Response(res)) {
      whenStreamClosed(res, this.#completeAfterClose, request, response, started);
      return;
    }
    let completed = false;
    const complete = (): void => {
      if (completed) return;
      completed = true;
      this.#complete(request, response, started);
    };
    res.once("close", complete);
    // A response queued behind one to a pipelined request holds no socket yet, and node:http
    // never ends it when the connection dies (its abortIncoming only destroys the requests):
    // it stayed in flight for good and held shutdown for shutdownTimeout. Found by the fuzz run.
    const connection = request.raw.socket;
    if (res.socket === null && connection !== null) {
      if (connection.destroyed) {
        complete();
        return;
      }
      connection.once("close", complete);
      res.once("close", () => connection.off("close", complete));
    }
  }

  /** #complete, made once: an HTTP/2 stream calls it when it closes (see #afterSend). */
  readonly #completeAfterClose = (
    request: Request,
    response: StreamResponse,
    started: number,
  ): void => this.#complete(request, response, started);

  #complete(request: Request, response: StreamResponse | null, started: number): void {
    // However the request ended (answered, handler failed, client gone), its uploads go. An
    // upgrade request has no body, hence none.
    const removing = request[kUpgrade] === null ? discardUploads(request.raw) : undefined;
    removing?.catch((err: unknown) =>
      this.#logger.warn?.(`Could not delete the uploads of ${request.method} ${request.path}`, err),
    );
    if (this.#accessLog !== null) {
      try {
        this.#accessLog.log(request, response, performance.now() - started);
      } catch (err) {
        this.#logger.error("Error in access logger", err);
      }
    }
    this.#done();
  }

  /** The handler chain failed: answer with an error response, unless a head is out already. */
  #onHandlerError(err: unknown, request: Request, started: number): void {
    const res = request.rawResponse;
    const prepared = res.destroyed ? undefined : preparedOf(request);
    if (prepared === undefined) {
      this.#send(request, this.#errorResponse(err, request), started);
      return;
    }
    if (err instanceof ClientDisconnectedError) {
      this.#logger.debug?.(`Client disconnected during ${request.method} ${request.path}`);
    } else if (bodyCutShort(err, request)) {
      this.#logger.debug?.(`Request body cut short: ${request.method} ${request.path}`);
    } else {
      this.#logger.error(
        `Error handling request ${request.method} ${request.rawPathAndQuery}`,
        err,
      );
    }
    this.#cut(request, prepared, started);
  }

  /**
   * Ends a response whose head is out but which cannot be finished: no error response can
   * replace it, so what was written still reaches the client, then the connection closes
   * before the body's end (no last chunk, or short of its Content-Length) and the client sees
   * it truncated, as with aiohttp.
   */
  #cut(request: Request, response: StreamResponse, started: number): void {
    const res = request.rawResponse;
    response[kCut]().then(
      () => {
        endConnection(res);
        this.#afterSend(request, response, started);
      },
      (err: unknown) => {
        this.#logger.debug?.(`Could not flush a response cut short: ${String(err)}`);
        res.destroy();
        this.#afterSend(request, response, started);
      },
    );
  }

  #errorResponse(err: unknown, request: Request): StreamResponse {
    if (err instanceof HTTPException) return exceptionResponse(err);
    if (err instanceof ClientDisconnectedError || request.rawResponse.destroyed) {
      this.#logger.debug?.(`Client disconnected during ${request.method} ${request.path}`);
      return new Response({ status: 499, reason: "Client Closed Request" });
    }
    if (bodyCutShort(err, request)) {
      this.#logger.debug?.(`Request body cut short: ${request.method} ${request.path}`);
      return new Response({ status: 400, text: "400: Bad Request (incomplete request body)" });
    }
    this.#logger.error(`Error handling request ${request.method} ${request.rawPathAndQuery}`, err);
    return new Response({ status: 500, text: "500: Internal Server Error" });
  }

  #onSendError(err: unknown, request: Request, response: StreamResponse, started: number): void {
    const res = request.rawResponse;
    if (err instanceof ClientDisconnectedError || res.destroyed) {
      this.#afterSend(request, response, started);
      return;
    }
    if (!res.headersSent) {
      this.#logger.error(
        `Error preparing response to ${request.method} ${request.rawPathAndQuery}`,
        err,
      );
      this.#sendError(res, 500);
      this.#afterSend(request, response, started);
      return;
    }
    this.#logger.error(
      `Error writing response ${response.status} to ${request.method} ${request.rawPathAndQuery}`,
      err,
    );
    // The head is out (the handler's, should it have prepared one response and returned
    // another), so a 500 cannot follow: the body is cut short instead.
    this.#cut(request, preparedOf(request) ?? response, started);
  }

  /** A minimal error answer that closes the connection. */
  #sendError(res: ServerResponse, status: number): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const reason = STATUS_REASONS[status] ?? "Error";
    const body = `${status}: ${reason}`;
    res.shouldKeepAlive = false;
    res.writeHead(status, reason, [
      "Content-Type",
      "text/plain; charset=utf-8",
      "Content-Length",
      String(Buffer.byteLength(body)),
      "Connection",
      "close",
    ]);
    res.end(body);
  }

  #onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const code = err.code ?? "";
    this.#logger.debug?.(`Bad HTTP request: ${code} ${err.message}`);
    if (!socket.writable || code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    // Node's parser reports an error again for each later packet; the first one decided.
    if (this.#refused.has(socket)) return;
    this.#refused.add(socket);
    const current = respondingOn(socket);
    if (current !== null) {
      if (current.req.complete) {
        // The bad bytes follow a whole request still being answered (pipelined, or sent
        // before its response): that answer goes out whole, then the connection closes.
        if (!current.headersSent) current.shouldKeepAlive = false;
        current.once("finish", () => (socket as Socket & { destroySoon(): void }).destroySoon());
        return;
      }
      // The request being answered is the bad one; with its head out, an error answer would
      // land inside its body (a split response): the connection is cut instead.
      if (current.headersSent) {
        socket.destroy();
        return;
      }
    }
    const status =
      code === "HPE_HEADER_OVERFLOW" ? 431 : code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    const reason = STATUS_REASONS[status] as string;
    const body = `${status}: ${reason}`;
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  #done(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#idle !== null) this.#idle();
  }
}

/** Whether a WebSocket took the request's connection over (its 101 is out). */
function takenOver(request: Request): boolean {
  return (request[kUpgrade]?.owner ?? null) !== null;
}

/** The response node:http is writing on `socket` now, if any. */
function respondingOn(socket: Socket): ServerResponse | null {
  // node:http keeps it in a field of its own (`_httpMessage`); its default clientError handler
  // reads it for the same reason: not to write an error answer into another response.
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
}

/**
 * Closes the connection once what was written is flushed, as Node does after a response
 * with `Connection: close`.
 */
function endConnection(res: ServerResponse): void {
  if (isHttp2Response(res)) {
    resetStream(res);
    return;
  }
  const socket = res.socket as (Socket & { destroySoon(): void }) | null;
  // A pipelined response still waiting for its turn has no socket, and nothing of it was sent.
  if (socket === null) res.destroy();
  else socket.destroySoon();
}

/** Pipelined requests a connection may have waiting before it stops being read. */
const PIPELINE_DEPTH = 32;

/**
 * The response whose `prepare()` sent the head: found by the Node response it wrote to, or,
 * on an upgraded connection (which let its Node response go), by the connection.
 */
function preparedOf(request: Request): StreamResponse | undefined {
  return request[kUpgrade]?.owner ?? preparedResponse(request.rawResponse);
}

/**
 * The request's `Upgrade` header as node's `req.headers.upgrade` gives it (repeated fields
 * joined), read from the raw list: node builds `req.headers` on first use and keeps it with
 * the request, which for a WebSocket lives as long as the connection.
 */
function upgradeHeader(raw: readonly string[]): string {
  let value = "";
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 7 || !UPGRADE_NAME.test(name)) continue;
    value = value === "" ? (raw[i + 1] as string) : `${value}, ${raw[i + 1] as string}`;
  }
  return value;
}

const UPGRADE_NAME = /^upgrade$/i;
const WEBSOCKET_UPGRADE = /(?:^|[\s,])websocket(?:$|[\s,])/i;
const UPGRADE_TOKEN = /^\s*upgrade\s*$/i;

/**
 * Whether a handler failed because the connection ended before its request's body was
 * complete: the client closed or half-closed it early (an incomplete message, RFC 9112 8), or
 * node:http dropped it for a malformed request pipelined behind this one. The client's doing,
 * so a debug line (and a 400 where one can still go out), not an "Error handling request" in
 * the error log, which any client could fill at will (found by the fuzz run). A
 * StreamClosedError from another stream (a client response read in the handler) while the
 * request itself came whole stays a server error.
 */
function bodyCutShort(err: unknown, request: Request): boolean {
  return err instanceof StreamClosedError && !request.raw.complete;
}

/**
 * Calls `then` once node:http has finished the responses to the requests pipelined on `socket`
 * before an upgrade request, which Node hands over as soon as it has parsed it: answering it
 * earlier made `assignSocket` throw (ERR_HTTP_SOCKET_ASSIGNED, an uncaught exception) and left
 * the connection hanging. RFC 9112 9.3.2: responses go out in the order of the requests. Node
 * hands the socket to the next queued response (`respondingOn`) before the previous one's
 * `close`.
 * When the previous response ended the connection (`Connection: close`), so does the upgrade.
 */
function afterPipelined(socket: Socket, then: () => void): void {
  const holder = respondingOn(socket);
  if (holder === null) {
    then();
    return;
  }
  holder.once("close", () => {
    if (socket.destroyed) return;
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // Node armed its keep-alive timer when the last response finished; the socket is ours now.
    socket.setTimeout(0);
    afterPipelined(socket, then);
  });
}

/**
 * Gives a non-WebSocket upgrade request back to the HTTP server: its head is rebuilt without
 * `Upgrade` (and the `upgrade` connection option) and fed to a fresh parser with the rest.
 */
function reparse(server: NodeServer, req: IncomingMessage, socket: Socket, head: Buffer): void {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    let value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === "upgrade") continue;
    if (lower === "connection") {
      value = value
        .split(",")
        .filter((token) => !UPGRADE_TOKEN.test(token))
        .join(",")
        .trim();
      if (value === "") continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  // Header values arrive decoded as latin1; encoding them back gives the original bytes.
  socket.unshift(Buffer.concat([Buffer.from(`${text}\r\n`, "latin1"), head]));
  // A node:http2 server takes HTTP/1.1 on TLS sockets it has already secured.
  server.emit("closeAllConnections" in server ? "connection" : "secureConnection", socket);
}

// Case-insensitive without allocating a lower-cased copy per header.
const HOST = /^host$/i;
const CONTENT_LENGTH = /^content-length$/i;
const TRANSFER_ENCODING = /^transfer-encoding$/i;
const LAST_CHUNKED = /(?:^|,)[ \t]*chunked[ \t]*$/i;
const ONLY_CHUNKED = /^[ \t]*chunked[ \t]*$/i;
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)([^#]*)$/i;

/**
 * RFC 9112 3.2.2: an absolute-form target names the host itself. One that names the Host it came
 * with is served as its origin-form path (0); one that names another host is refused (400), so
 * that the host a handler sees in `request.host` and in `request.url` is always the same.
 */
function absoluteToOrigin(req: IncomingMessage, target: string, host: string | undefined): number {
  const match = ABSOLUTE_FORM.exec(target);
  if (match === null) return 400;
  const [, authority = "", rest = ""] = match;
  if (host === undefined || authority.toLowerCase() !== host.toLowerCase()) return 400;
  req.url = rest.startsWith("/") ? rest : `/${rest}`;
  return 0;
}

/** The response an HTTP exception stands for. */
export function exceptionResponse(exc: HTTPException): Response {
  const base = { status: exc.status, reason: exc.reason, headers: exc.headers };
  if (exc.body !== null)
    return new Response({ ...base, body: exc.body, contentType: exc.contentType });
  if (exc.text !== null)
    return new Response({ ...base, text: exc.text, contentType: exc.contentType });
  return new Response(base);
}

const CANCELLED: unique symbol = Symbol("cancelled");

/**
 * The handler's result, or `CANCELLED` as soon as the client goes away first. The handler's
 * eventual failure is then expected (its writes fail) and swallowed.
 */
function untilDisconnect<T>(work: Promise<T>, res: ServerResponse): Promise<T | typeof CANCELLED> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => {
      if (res.writableFinished) return;
      work.catch(() => {});
      resolve(CANCELLED);
    };
    if (res.destroyed) {
      onClose();
      return;
    }
    res.once("close", onClose);
    work.then(
      (value) => {
        res.off("close", onClose);
        resolve(value);
      },
      (err: unknown) => {
        res.off("close", onClose);
        reject(err);
      },
    );
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
