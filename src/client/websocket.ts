// The client side of a WebSocket (aiohttp's ClientWebSocketResponse): the message API shared
// with the server, plus what the handshake (src/client/ws-handshake.ts) answered.

import type { WebSocket } from "ws";
import type { CIMultiDictProxy } from "../http/multidict.js";
import { WebSocketChannel, type WebSocketOptions } from "../http/websocket.js";
import type { BasicAuth } from "./auth.js";
import type { OptionNames } from "./option-check.js";
import type { ProxyOptions } from "./proxy.js";
import type { SSLSetting } from "./tls.js";
import type { HeadersInit, Params } from "./types.js";

/** Timeouts of an open WebSocket, ms. */
export interface ClientWSTimeout {
  /** How long `receive()` waits by default (`null`: no limit). @default null */
  wsReceive?: number | null;
  /** How long `close()` waits for the server's close frame. @default 10_000 */
  wsClose?: number;
}

/** Options of `session.wsConnect()`. */
export interface WSConnectOptions extends Omit<WebSocketOptions, "timeout">, ProxyOptions {
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
  /**
   * TLS for `wss://`, as a request's `ssl`: `false` skips certificate verification, an object
   * passes `node:tls` options, a SecureContext or a `Fingerprint` pins the certificate.
   * @default the session's `ssl`, else the connector's
   */
  ssl?: SSLSetting;
  /** The name sent in SNI and checked against the certificate. @default the URL's host */
  serverHostname?: string;
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
  proxyHeaders: true,
  ssl: true,
  serverHostname: true,
  maxRedirects: true,
  heartbeat: true,
  autoping: true,
  autoclose: true,
  maxMsgSize: true,
  receiveTimeout: true,
} as const satisfies OptionNames<WSConnectOptions>;

/** What the handshake learned, for the response object. */
export interface HandshakeResult {
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
