// RFC 6455 4.1: the opening handshake of a client WebSocket over `ws`, with the session's
// headers, cookies, TLS settings and proxies; redirects are followed here, one hop at a time.

import type { ClientRequest, IncomingMessage } from "node:http";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from "node:tls";
import { type ClientOptions, WebSocket } from "ws";
import { CIMultiDict, CIMultiDictProxy } from "../http/multidict.js";
import {
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_MAX_MSG_SIZE,
  type WebSocketOptions,
} from "../http/websocket.js";
import { toClientError } from "./error-mapping.js";
import {
  type RequestInfo,
  ServerTimeoutError,
  TooManyRedirects,
  WSServerHandshakeError,
} from "./errors.js";
import { connectTunnel, type ProxySettings } from "./proxy.js";
import { REDIRECT_STATUSES, resolveLocation } from "./redirect.js";
import type { Fingerprint } from "./tls.js";
import { hostOf, portOf } from "./url.js";
import { ClientWebSocketResponse, type WSConnectOptions } from "./websocket.js";

/** Everything a handshake needs, prepared by the session. */
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
  /** The certificate pin that goes with `tls`, if any. */
  readonly pin: Fingerprint | undefined;
  readonly socketPath: string | undefined;
  /** The proxy for a URL, if any. */
  proxyFor(url: URL): ProxySettings | null;
  /** Receives each answer's `Set-Cookie` values. */
  storeCookies(setCookie: string[] | undefined, url: URL): void;
}

/** Opens a WebSocket: resolves once the server accepted it. */
export function openWebSocket(params: HandshakeParams): Promise<ClientWebSocketResponse> {
  return new Handshake(params).open();
}

/** One hop of a handshake: where it goes and what it sent. */
interface Hop {
  readonly url: URL;
  readonly requestInfo: RequestInfo;
}

/** One hop's outcome: the open WebSocket, or where a redirect points. */
type Outcome = ClientWebSocketResponse | { readonly location: string };

type CreateConnection = (
  options: Record<string, unknown>,
  callback: (err: Error | null, socket?: Socket) => void,
) => Socket | undefined;

/**
 * One `wsConnect()` handshake. Redirects are followed here rather than inside `ws`, so each
 * hop's cookies are stored and the next hop's cookies and credentials are chosen for its URL.
 */
class Handshake {
  readonly #p: HandshakeParams;
  readonly #options: WSConnectOptions;
  readonly #method: string;
  readonly #protocols: readonly string[];
  readonly #tls: ConnectionOptions;
  /** `performance.now()` when the handshake must be done (0: never). */
  readonly #deadlineAt: number;

  constructor(p: HandshakeParams) {
    this.#p = p;
    this.#options = p.options;
    this.#method = (p.options.method ?? "GET").toUpperCase();
    this.#protocols = p.options.protocols ?? [];
    this.#tls = p.tls;
    this.#deadlineAt = p.deadline > 0 ? performance.now() + p.deadline : 0;
  }

  async open(): Promise<ClientWebSocketResponse> {
    const p = this.#p;
    const maxRedirects = this.#options.maxRedirects ?? 10;
    let url = p.url;
    let leftOrigin = false;
    for (let hops = 0; ; hops++) {
      const headers = p.headersFor(url, leftOrigin);
      const requestInfo: RequestInfo = {
        url,
        method: this.#method,
        headers: new CIMultiDictProxy(headers),
        realUrl: hops === 0 ? p.realUrl : url,
      };
      const outcome = await this.#attempt({ url, requestInfo }, headers);
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

  #attempt(hop: Hop, sessionHeaders: CIMultiDict): Promise<Outcome> {
    const { url, requestInfo } = hop;
    const options = this.#options;
    const closeTimeout = options.timeout?.wsClose ?? DEFAULT_CLOSE_TIMEOUT;
    const channelOptions: WebSocketOptions = {
      ...options,
      timeout: closeTimeout,
      receiveTimeout: options.timeout?.wsReceive ?? options.receiveTimeout ?? null,
    };
    let ws: WebSocket;
    try {
      const wsUrl = new URL(url);
      wsUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(wsUrl, [], this.#wsOptions(hop, sessionHeaders, closeTimeout));
    } catch (err) {
      return Promise.reject(toClientError(err, url, this.#method));
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
      const timer = this.#startTimer(fail);
      ws.once("upgrade", (res: IncomingMessage) => {
        answer = CIMultiDictProxy.fromFlat(res.rawHeaders);
        this.#p.storeCookies(res.headers["set-cookie"], url);
        const chosen = res.headers["sec-websocket-protocol"];
        if (chosen !== undefined) {
          // RFC 6455 4.1: a subprotocol that was not offered fails the connection.
          if (!this.#protocols.includes(chosen)) {
            const message = `Server chose protocol ${chosen}, which was not offered`;
            fail(
              new WSServerHandshakeError(requestInfo, { status: 101, message, headers: answer }),
            );
            return;
          }
          protocol = chosen;
          delete res.headers["sec-websocket-protocol"];
        }
      });
      ws.once("unexpected-response", (_req: ClientRequest, res: IncomingMessage) => {
        answer = CIMultiDictProxy.fromFlat(res.rawHeaders);
        this.#p.storeCookies(res.headers["set-cookie"], url);
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
        fail(handshakeFailure(err, hop, answer));
      });
      ws.once("open", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners("error");
        const handshake = { url, headers: answer, protocol };
        resolve(new ClientWebSocketResponse(ws, channelOptions, handshake));
      });
    });
  }

  /** The handshake's deadline, redirects included, as a timer failing this hop. */
  #startTimer(fail: (err: Error) => void): NodeJS.Timeout | undefined {
    if (this.#deadlineAt === 0) return undefined;
    const p = this.#p;
    const left = Math.max(1, this.#deadlineAt - performance.now());
    return setTimeout(() => {
      const message = `WebSocket handshake with ${p.url.href} timed out after ${p.deadline} ms`;
      fail(new ServerTimeoutError(message));
    }, left);
  }

  #wsOptions(hop: Hop, sessionHeaders: CIMultiDict, closeTimeout: number): ClientOptions {
    const options = this.#options;
    const method = this.#method;
    const headers: Record<string, string> = {};
    for (const [name, value] of sessionHeaders.entries()) {
      if (name.toLowerCase() === "host") continue;
      const prev = headers[name];
      // RFC 9110 5.3: repeated fields combine into one comma-separated value.
      headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    }
    // Sent by us rather than by `ws`, which would refuse a server that agrees to none of them;
    // aiohttp (and RFC 6455 4.1) accept that as "no subprotocol".
    if (this.#protocols.length > 0) {
      headers["Sec-WebSocket-Protocol"] = this.#protocols.join(", ");
    }
    const wsOptions = {
      ...this.#tls,
      headers,
      perMessageDeflate: (options.compress ?? false) ? {} : false,
      maxPayload: options.maxMsgSize ?? DEFAULT_MAX_MSG_SIZE,
      autoPong: options.autoping ?? true,
      followRedirects: false,
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      ...this.#connection(hop),
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
    return wsOptions as unknown as ClientOptions;
  }

  /** A `createConnection` for a unix socket or a proxy tunnel; nothing for a direct one. */
  #connection(hop: Hop): { createConnection?: CreateConnection } {
    const { url, requestInfo } = hop;
    const secure = url.protocol === "https:";
    const tls = this.#tls;
    const pin = this.#p.pin;
    const host = hostOf(url);
    const proxy = this.#p.proxyFor(url);
    if (proxy !== null) {
      return {
        createConnection: (_options, callback) => {
          connectTunnel(proxy, host, portOf(url), requestInfo).then(
            (socket) =>
              callback(null, secure ? wrapTls(socket, host, portOf(url), tls, pin) : socket),
            (err: Error) => callback(err),
          );
          return undefined;
        },
      };
    }
    const socketPath = this.#p.socketPath;
    if (socketPath === undefined) {
      if (!secure || pin === undefined) return {};
      // `ws` would call tls.connect() itself; the pin needs the socket before it is used.
      return {
        createConnection: (options) =>
          pinned(tlsConnect(options as ConnectionOptions), pin, host, portOf(url)),
      };
    }
    return {
      createConnection: () => {
        const socket = netConnect({ path: socketPath });
        return secure ? wrapTls(socket, host, portOf(url), tls, pin) : socket;
      },
    };
  }
}

/** Errors `ws` raises while connecting: a refused handshake, or a network failure. */
function handshakeFailure(err: NodeJS.ErrnoException, hop: Hop, answer: CIMultiDictProxy): Error {
  if (err.code !== undefined || !(err instanceof Error)) {
    return toClientError(err, hop.url, hop.requestInfo.method);
  }
  // "Invalid Sec-WebSocket-Accept header", "Invalid Upgrade header"...: a 101 that is not a
  // valid WebSocket answer.
  return new WSServerHandshakeError(hop.requestInfo, {
    status: 101,
    message: err.message,
    headers: answer,
    cause: err,
  });
}

function wrapTls(
  socket: Socket,
  host: string,
  port: number,
  tls: ConnectionOptions,
  pin: Fingerprint | undefined,
): Socket {
  // RFC 6066 3: no SNI for an IP address. A `servername` of the caller's (serverHostname) wins.
  const sni = tls.servername === undefined && isIP(host) === 0 ? { servername: host } : {};
  const secured = tlsConnect({ ...tls, ...sni, socket });
  return pin === undefined ? secured : pinned(secured, pin, host, port);
}

/** Fails `socket` with `ServerFingerprintMismatch` once its certificate turns out not pinned. */
function pinned(socket: TLSSocket, pin: Fingerprint, host: string, port: number): TLSSocket {
  socket.once("secureConnect", () => {
    try {
      pin.check(socket, host, port);
    } catch (mismatch) {
      socket.destroy(mismatch as Error);
    }
  });
  return socket;
}
