// The client side of a WebSocket (aiohttp's ClientWebSocketResponse): the opening handshake
// over `ws`, with the session's headers, cookies, TLS settings and proxies, then the message
// API shared with the server.

import type { ClientRequest, IncomingMessage } from "node:http";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { type ClientOptions, WebSocket } from "ws";
import { CIMultiDict, CIMultiDictProxy } from "../http/multidict.js";
import {
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_MAX_MSG_SIZE,
  WebSocketChannel,
  type WebSocketOptions,
} from "../http/websocket.js";
import type { BasicAuth } from "./auth.js";
import { tlsOptions } from "./connector.js";
import { toClientError } from "./error-mapping.js";
import {
  type RequestInfo,
  ServerTimeoutError,
  TooManyRedirects,
  WSServerHandshakeError,
} from "./errors.js";
import type { OptionNames } from "./option-check.js";
import { connectTunnel } from "./proxy.js";
import { REDIRECT_STATUSES, resolveLocation } from "./redirect.js";
import type { HeadersInit, Params } from "./types.js";
import { hostOf, portOf } from "./url.js";

/** Timeouts of an open WebSocket, ms. */
export interface ClientWSTimeout {
  /** How long `receive()` waits by default (`null`: no limit). @default null */
  wsReceive?: number | null;
  /** How long `close()` waits for the server's close frame. @default 10_000 */
  wsClose?: number;
}

/** Options of `session.wsConnect()`. */
export interface WSConnectOptions extends Omit<WebSocketOptions, "timeout"> {
  /** The handshake's method; RFC 6455 asks for GET. @default "GET" */
  method?: string;
  /** Subprotocols offered, in order of preference. */
  protocols?: readonly string[];
  /** Extra handshake headers (over the session's). */
  headers?: HeadersInit;
  /** Added to the URL's query. */
  params?: Params;
  auth?: BasicAuth;
  /** The `Origin` header. */
  origin?: string;
  /** Offer permessage-deflate. @default false (as aiohttp's client) */
  compress?: boolean;
  timeout?: ClientWSTimeout;
  /** Connect through this HTTP proxy (a CONNECT tunnel), `http://user:pass@host:port`. */
  proxy?: string | URL;
  /** Credentials for the proxy (instead of the ones in its URL). */
  proxyAuth?: BasicAuth;
  /**
   * TLS for `wss://`: `false` skips certificate verification, an object passes `node:tls`
   * options. @default the connector's `ssl`
   */
  ssl?: boolean | ConnectionOptions;
  /** Redirects followed during the handshake. @default 10 */
  maxRedirects?: number;
}

/** Every option of `wsConnect()`, for refusing unknown ones. */
export const WS_CONNECT_OPTION_NAMES = {
  method: true,
  protocols: true,
  headers: true,
  params: true,
  auth: true,
  origin: true,
  compress: true,
  timeout: true,
  proxy: true,
  proxyAuth: true,
  ssl: true,
  maxRedirects: true,
  heartbeat: true,
  autoping: true,
  autoclose: true,
  maxMsgSize: true,
  receiveTimeout: true,
} as const satisfies OptionNames<WSConnectOptions>;

/** What the handshake learned, for the response object. */
interface HandshakeResult {
  readonly url: URL;
  readonly headers: CIMultiDictProxy;
  readonly protocol: string | null;
}

/**
 * A WebSocket opened by `session.wsConnect()`: the shared message API, plus what the
 * handshake answered. `await using ws = await session.wsConnect(url)` closes it at the end of
 * the block.
 */
export class ClientWebSocketResponse extends WebSocketChannel implements AsyncDisposable {
  /** The URL connected to (after redirects). */
  readonly url: URL;
  /** The headers of the server's 101 answer. */
  readonly headers: CIMultiDictProxy;
  /** The status of the handshake answer. */
  readonly status = 101;
  readonly #protocol: string | null;

  /** Made by `session.wsConnect()`; not meant to be called directly. */
  constructor(ws: WebSocket, options: WebSocketOptions, handshake: HandshakeResult) {
    super(ws, options);
    this.url = handshake.url;
    this.headers = handshake.headers;
    this.#protocol = handshake.protocol;
  }

  override get protocol(): string | null {
    return this.#protocol;
  }
}

/** Everything `openWebSocket` needs, prepared by the session. */
export interface HandshakeParams {
  /** The http(s) URL with the query. */
  readonly url: URL;
  /** The URL as given (with a fragment), for error messages. */
  readonly realUrl: URL;
  /**
   * Handshake headers for a URL: the session's defaults, cookies, auth and the caller's;
   * without credentials once a redirect left the first origin.
   */
  headersFor(url: URL, leftOrigin: boolean): CIMultiDict;
  readonly options: WSConnectOptions;
  /** Re-encode raw spaces and non-ASCII in redirect Locations (the session's setting). */
  readonly requoteRedirectUrl: boolean;
  /** How long the handshake may take, redirects included, ms (0: no limit). */
  readonly deadline: number;
  readonly tls: ConnectionOptions;
  readonly socketPath: string | undefined;
  /** The proxy for a URL, if any. */
  proxyFor(url: URL): URL | null;
  /** Receives each answer's `Set-Cookie` values. */
  storeCookies(setCookie: string[] | undefined, url: URL): void;
}

/** One handshake attempt: the open WebSocket, or where a redirect points. */
type Attempt = ClientWebSocketResponse | { readonly location: string };

/**
 * RFC 6455 4.1: the opening handshake; resolves with the open WebSocket. Redirects are
 * followed here rather than inside `ws`, so each hop's cookies are stored and the next
 * request's cookies and credentials are chosen for its own URL.
 */
export async function openWebSocket(p: HandshakeParams): Promise<ClientWebSocketResponse> {
  const method = (p.options.method ?? "GET").toUpperCase();
  const maxRedirects = p.options.maxRedirects ?? 10;
  const deadlineAt = p.deadline > 0 ? performance.now() + p.deadline : 0;
  let url = p.url;
  let leftOrigin = false;
  for (let hops = 0; ; hops++) {
    const headers = p.headersFor(url, leftOrigin);
    const requestInfo: RequestInfo = {
      url,
      method,
      headers: new CIMultiDictProxy(headers),
      realUrl: hops === 0 ? p.realUrl : url,
    };
    const outcome = await attempt(p, url, method, headers, requestInfo, deadlineAt);
    if (outcome instanceof ClientWebSocketResponse) return outcome;
    if (hops + 1 > maxRedirects) {
      throw new TooManyRedirects(requestInfo, {
        status: 0,
        message: `More than ${maxRedirects} redirects`,
      });
    }
    const next = resolveLocation(outcome.location, url, {
      requote: p.requoteRedirectUrl,
      webSocket: true,
    });
    // RFC 9110 15.4: credentials stay with the origin they were meant for.
    if (next.origin !== p.url.origin) leftOrigin = true;
    url = next;
  }
}

function attempt(
  p: HandshakeParams,
  url: URL,
  method: string,
  sessionHeaders: CIMultiDict,
  requestInfo: RequestInfo,
  deadlineAt: number,
): Promise<Attempt> {
  const { options } = p;
  const protocols = options.protocols ?? [];
  const headers: Record<string, string> = {};
  for (const [name, value] of sessionHeaders.entries()) {
    if (name.toLowerCase() === "host") continue;
    const prev = headers[name];
    // RFC 9110 5.3: repeated fields combine into one comma-separated value.
    headers[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  // Sent by us rather than by `ws`, which would refuse a server that agrees to none of them;
  // aiohttp (and RFC 6455 4.1) accept that as "no subprotocol".
  if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(", ");
  const wsUrl = new URL(url);
  wsUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const secure = wsUrl.protocol === "wss:";
  const tls = options.ssl === undefined ? p.tls : tlsOptions(options.ssl);
  const closeTimeout = options.timeout?.wsClose ?? DEFAULT_CLOSE_TIMEOUT;
  const channelOptions: WebSocketOptions = {
    ...options,
    timeout: closeTimeout,
    receiveTimeout: options.timeout?.wsReceive ?? options.receiveTimeout ?? null,
  };

  let ws: WebSocket;
  try {
    const wsOptions = {
      ...tls,
      headers,
      perMessageDeflate: (options.compress ?? false) ? {} : false,
      maxPayload: options.maxMsgSize ?? DEFAULT_MAX_MSG_SIZE,
      autoPong: options.autoping ?? true,
      followRedirects: false,
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      ...(connector(p, url, requestInfo, secure, tls) ?? {}),
      finishRequest: (req: ClientRequest) => {
        // Node writes the request line when the request ends, so the method can change here.
        if (method !== "GET") req.method = method;
        req.end();
      },
      // Our own close timer ends the handshake; `ws`'s is a backstop behind it.
      closeTimeout: closeTimeout + 1000,
    };
    // Sound: `ws` hands the TLS options to tls.connect() untouched; its types describe
    // checkServerIdentity differently from node:tls's, and lack closeTimeout (ws 8.23).
    ws = new WebSocket(wsUrl, [], wsOptions as unknown as ClientOptions);
  } catch (err) {
    return Promise.reject(toClientError(err, url, method));
  }

  return new Promise((resolve, reject) => {
    let settled = false;
    let protocol: string | null = null;
    let answer: CIMultiDictProxy = new CIMultiDictProxy(new CIMultiDict());
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    const left = deadlineAt === 0 ? 0 : Math.max(1, deadlineAt - performance.now());
    const timer =
      left > 0
        ? setTimeout(
            () =>
              fail(
                new ServerTimeoutError(
                  `WebSocket handshake with ${p.url.href} timed out after ${p.deadline} ms`,
                ),
              ),
            left,
          )
        : undefined;
    ws.once("upgrade", (res: IncomingMessage) => {
      answer = CIMultiDictProxy.fromFlat(res.rawHeaders);
      p.storeCookies(res.headers["set-cookie"], url);
      const chosen = res.headers["sec-websocket-protocol"];
      if (chosen !== undefined) {
        // RFC 6455 4.1: a subprotocol that was not offered fails the connection.
        if (!protocols.includes(chosen)) {
          const message = `Server chose protocol ${chosen}, which was not offered`;
          fail(new WSServerHandshakeError(requestInfo, { status: 101, message, headers: answer }));
          return;
        }
        protocol = chosen;
        delete res.headers["sec-websocket-protocol"];
      }
    });
    ws.once("unexpected-response", (_req: ClientRequest, res: IncomingMessage) => {
      answer = CIMultiDictProxy.fromFlat(res.rawHeaders);
      p.storeCookies(res.headers["set-cookie"], url);
      res.resume();
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        resolve({ location });
        return;
      }
      // aiohttp says only "Invalid response status"; what was expected helps more.
      const got = `${status} ${res.statusMessage ?? ""}`.trim();
      const message = `Invalid response status: expected 101 Switching Protocols, got ${got}`;
      fail(new WSServerHandshakeError(requestInfo, { status, message, headers: answer }));
    });
    ws.on("error", (err: NodeJS.ErrnoException) => {
      if (settled) return;
      fail(handshakeFailure(err, url, requestInfo, answer));
    });
    ws.once("open", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners("error");
      resolve(new ClientWebSocketResponse(ws, channelOptions, { url, headers: answer, protocol }));
    });
  });
}

/** Errors `ws` raises while connecting: a refused handshake, or a network failure. */
function handshakeFailure(
  err: NodeJS.ErrnoException,
  url: URL,
  requestInfo: RequestInfo,
  answer: CIMultiDictProxy,
): Error {
  if (err.code !== undefined || !(err instanceof Error)) {
    return toClientError(err, url, requestInfo.method);
  }
  // "Invalid Sec-WebSocket-Accept header", "Invalid Upgrade header"...: a 101 that is not a
  // valid WebSocket answer.
  return new WSServerHandshakeError(requestInfo, {
    status: 101,
    message: err.message,
    headers: answer,
    cause: err,
  });
}

type CreateConnection = (
  options: Record<string, unknown>,
  callback: (err: Error | null, socket?: Socket) => void,
) => Socket | undefined;

/** A `createConnection` for a unix socket or a proxy tunnel; `undefined` for a direct one. */
function connector(
  p: HandshakeParams,
  url: URL,
  requestInfo: RequestInfo,
  secure: boolean,
  tls: ConnectionOptions,
): { createConnection: CreateConnection } | undefined {
  const proxy = p.proxyFor(url);
  const socketPath = p.socketPath;
  const host = hostOf(url);
  const port = portOf(url);
  if (proxy !== null) {
    return {
      createConnection: (_options, callback) => {
        connectTunnel(proxy, p.options.proxyAuth, host, port, requestInfo).then(
          (socket) => callback(null, secure ? wrapTls(socket, host, tls) : socket),
          (err: Error) => callback(err),
        );
        return undefined;
      },
    };
  }
  if (socketPath !== undefined) {
    return {
      createConnection: () => {
        const socket = netConnect({ path: socketPath });
        return secure ? wrapTls(socket, host, tls) : socket;
      },
    };
  }
  return undefined;
}

function wrapTls(socket: Socket, host: string, tls: ConnectionOptions): Socket {
  // RFC 6066 3: no SNI for an IP address.
  return tlsConnect({ ...tls, socket, ...(isIP(host) === 0 ? { servername: host } : {}) });
}
