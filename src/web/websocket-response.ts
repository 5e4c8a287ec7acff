// The server side of a WebSocket (aiohttp's web.WebSocketResponse): a response whose
// prepare() performs the upgrade handshake, then the message API shared with the client.

import { validateHeaderName, validateHeaderValue } from "node:http";
import { kChannelEnded, kEnded, kEndListener } from "../http/symbols.js";
import {
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_MAX_MSG_SIZE,
  WebSocketChannel,
  type WebSocketChannelApi,
  type WebSocketOptions,
} from "../http/websocket.js";
import {
  acceptKey,
  type DeflateAgreement,
  HandshakeError,
  negotiateDeflate,
  parseProtocols,
} from "../http/ws-protocol/handshake.js";
import { ServerSocket, type ServerSocketOptions } from "../http/ws-protocol/server-socket.js";
import {
  HTTPBadRequest,
  HTTPMethodNotAllowed,
  HTTPServiceUnavailable,
  HTTPUpgradeRequired,
} from "./exceptions.js";
import type { OpenWebSocket, Request } from "./request.js";
import { ClientDisconnectedError, StreamResponse } from "./response.js";
import { kCtx, kCut, kFinish, kHeadTarget, kSendHead, kUpgrade } from "./symbols.js";
import type { UpgradeInfo } from "./upgrade.js";

/** Options of `WebSocketResponse`. */
export interface WebSocketResponseOptions extends WebSocketOptions {
  /** Subprotocols the server speaks; the first one the client offers, in its order, is agreed. */
  protocols?: readonly string[];
  /** Accept permessage-deflate when the client offers it. @default true */
  compress?: boolean;
}

/** What `canPrepare()` found: whether the request is a valid upgrade, and the agreed protocol. */
export interface WebSocketReady {
  readonly ok: boolean;
  readonly protocol: string | null;
}

// RFC 6455 4.1: the key is 16 random bytes in base64.
const KEY = /^[+/0-9A-Za-z]{22}==$/;
// Headers the handshake itself sets; a handler's copies would contradict it.
const HANDSHAKE_HEADERS = new Set([
  "upgrade",
  "connection",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
]);

// What the handshake reads of the request; `ws` reads the same.
const HANDSHAKE_READ: ReadonlySet<string> = new Set([
  "upgrade",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
]);

/**
 * The handshake's headers as node's `req.headers` gives them (repeated fields joined with
 * ", "), read from the raw list: node builds that object on first use and keeps it with the
 * request, which lives as long as the connection.
 */
function handshakeHeaders(raw: readonly string[]): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!HANDSHAKE_READ.has(name)) continue;
    const value = raw[i + 1] as string;
    const seen = headers[name];
    headers[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return headers;
}

// Shared by every WebSocket made without options: it lives as long as the connection.
const NO_OPTIONS: WebSocketResponseOptions = Object.freeze({});

// ---- the channel API -----------------------------------------------------------------------

/**
 * What the channel's members read as before prepare() created the channel, as in aiohttp
 * (`closed` is false, `exception()` null...); disposing of a WebSocket that never opened does
 * nothing. Any other member needs the channel.
 */
const UNPREPARED: Partial<WebSocketChannelApi> = {
  closed: false,
  closeCode: null,
  compress: false,
  bufferedAmount: 0,
  exception: () => null,
  [Symbol.asyncDispose]: () => Promise.resolve(),
};

/**
 * Gives `proto` every member of WebSocketChannel's prototype that it does not define itself,
 * each acting on the channel `channelOf` finds for the instance. The server's WebSocket is a
 * StreamResponse and cannot also extend the channel; this gives it the client's API by
 * construction, at the cost of one call per use (what hand-written forwarding cost too).
 */
function forwardChannelApi(
  proto: object,
  channelOf: (ws: WebSocketResponse) => WebSocketChannel | null,
): void {
  const source = WebSocketChannel.prototype;
  const fallbacks: Partial<Record<PropertyKey, unknown>> = UNPREPARED;
  for (const key of Reflect.ownKeys(source)) {
    if (key === "constructor" || Object.hasOwn(proto, key)) continue;
    const member = Object.getOwnPropertyDescriptor(source, key) as PropertyDescriptor;
    const hasFallback = Object.hasOwn(fallbacks, key);
    const fallback = fallbacks[key];
    const channel = (ws: WebSocketResponse): WebSocketChannel | null => {
      const ch = channelOf(ws);
      if (ch === null && !hasFallback)
        throw new Error("Response is not prepared: call prepare(request) first");
      return ch;
    };
    const forwarded: PropertyDescriptor = { configurable: true, enumerable: false };
    if (typeof member.value === "function") {
      const method = member.value as (...args: unknown[]) => unknown;
      forwarded.writable = true;
      forwarded.value = function (this: WebSocketResponse, ...args: unknown[]): unknown {
        const ch = channel(this);
        if (ch === null) return Reflect.apply(fallback as typeof method, undefined, args);
        return Reflect.apply(method, ch, args);
      };
    } else {
      const get = member.get;
      if (get !== undefined) {
        forwarded.get = function (this: WebSocketResponse): unknown {
          const ch = channel(this);
          return ch === null ? fallback : get.call(ch);
        };
      }
      const set = member.set;
      if (set !== undefined) {
        forwarded.set = function (this: WebSocketResponse, value: unknown): void {
          const ch = channel(this);
          if (ch !== null) set.call(ch, value);
        };
      }
    }
    Object.defineProperty(proto, key, forwarded);
  }
}

// The channel API, merged into the class below: `forwardChannelApi` installs each member at
// runtime (a test checks every one is there), and a type test holds both sides to the same API.
export interface WebSocketResponse extends WebSocketChannelApi {}

/**
 * A WebSocket on the server. Create it in a handler, `await ws.prepare(request)` to upgrade
 * the connection, exchange messages, and return it; returning closes it (code 1000) if the
 * handler did not.
 *
 * @example
 * app.router.addGet("/ws", async (request) => {
 *   const ws = new web.WebSocketResponse({ heartbeat: 30_000 });
 *   await ws.prepare(request);
 *   for await (const msg of ws) {
 *     if (msg.type === WSMsgType.TEXT) await ws.sendStr(`${msg.data}/answer`);
 *   }
 *   return ws;
 * });
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: forwardChannelApi installs the interface's members
export class WebSocketResponse extends StreamResponse {
  readonly #options: WebSocketResponseOptions;
  #channel: WebSocketChannel | null = null;
  #protocol: string | null = null;
  #started = false;
  /** The server's open WebSockets, while this one is among them. */
  #open: Set<OpenWebSocket> | null = null;

  constructor(options: WebSocketResponseOptions = NO_OPTIONS) {
    super({ status: 101 });
    this.#options = options;
  }

  /**
   * Whether `request` can be upgraded, and the protocol that would be agreed, without
   * sending anything.
   */
  canPrepare(request: Request): WebSocketReady {
    try {
      return { ok: true, protocol: this.#handshake(request) };
    } catch {
      return { ok: false, protocol: null };
    }
  }

  /**
   * Upgrades the connection: checks the handshake (405, 400 or 426 when it is not a valid
   * WebSocket request), runs the applications' `onResponsePrepare` signals, then answers 101.
   */
  override prepare(request: Request): Promise<void> {
    // Until a handshake passes, every call checks it: a refused request stays refused.
    if (!this.#started) {
      try {
        this.#protocol = this.#handshake(request);
      } catch (err) {
        return Promise.reject(err);
      }
      this.#started = true;
    }
    return super.prepare(request);
  }

  /** RFC 6455 4.2.1: checks the opening handshake; returns the agreed subprotocol. */
  #handshake(request: Request): string | null {
    if (request.method !== "GET") throw new HTTPMethodNotAllowed(request.method, ["GET"]);
    if (request[kUpgrade] === null) {
      throw new HTTPBadRequest({
        text:
          "Expected a WebSocket upgrade request: GET with Upgrade: websocket and " +
          "Connection: Upgrade",
      });
    }
    const headers = handshakeHeaders(request.raw.rawHeaders);
    // A handshake is a GET without content (RFC 6455 4.1). Node hands whatever follows the
    // head to the upgrade as the first frames: a declared body would be read as frames, or,
    // behind a proxy that framed it as HTTP, let one request smuggle frames into another's
    // connection. Refused, so the bytes are never read.
    const length = headers["content-length"];
    if (headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")) {
      throw new HTTPBadRequest({ text: "A WebSocket handshake request cannot have a body" });
    }
    refuseWhileClosing(request);
    const version = headers["sec-websocket-version"];
    if (version !== "13") {
      // RFC 6455 4.2.2: name the version the server speaks.
      throw new HTTPUpgradeRequired({
        headers: { "Sec-WebSocket-Version": "13" },
        text: `Unsupported WebSocket version: ${version ?? "none"}`,
      });
    }
    const key = headers["sec-websocket-key"];
    if (key === undefined || !KEY.test(key)) {
      throw new HTTPBadRequest({ text: `Invalid Sec-WebSocket-Key: ${key ?? "none"}` });
    }
    const offered = headers["sec-websocket-protocol"];
    if (offered === undefined) return null;
    let names: string[];
    try {
      names = parseProtocols(offered);
    } catch (err) {
      throw new HTTPBadRequest({ text: (err as Error).message });
    }
    const ours = this.#options.protocols;
    return names.find((name) => ours?.includes(name) === true) ?? null;
  }

  /** @internal the 101 is written to the socket: node:http never makes a response for it */
  override [kHeadTarget](): null {
    return null;
  }

  /** @internal answers 101 and hands the connection to the WebSocket protocol */
  override [kSendHead](request: Request, flat: string[]): void {
    // Only an upgrade request passes the handshake check of prepare().
    const upgrade = request[kUpgrade] as UpgradeInfo;
    const extra: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i] as string;
      const value = flat[i + 1] as string;
      // Node's own checks: a CR/LF can never reach the wire through a header.
      validateHeaderName(name);
      validateHeaderValue(name, value);
      if (!HANDSHAKE_HEADERS.has(name.toLowerCase())) extra.push(`${name}: ${value}`);
    }
    // Checked again as the 101 goes out: shutdown may have begun while an onResponsePrepare
    // callback was awaited, and closed the open WebSockets without this one.
    refuseWhileClosing(request);
    const options = this.#options;
    const headers = handshakeHeaders(request.raw.rawHeaders);
    let deflate: DeflateAgreement | null = null;
    const offers = headers["sec-websocket-extensions"];
    try {
      if ((options.compress ?? true) && offers !== undefined) deflate = agreedDeflate(offers);
    } catch (err) {
      if (err instanceof HandshakeError) throw new HTTPBadRequest({ text: err.message });
      throw err;
    }
    const socket = upgrade.socket;
    // The client left (or half-closed) while the handler prepared.
    if (!socket.readable || !socket.writable) {
      socket.destroy();
      throw new ClientDisconnectedError();
    }
    const lines = [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${acceptKey(headers["sec-websocket-key"] as string)}`,
    ];
    const protocol = this.#protocol;
    if (protocol !== null) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    if (deflate !== null) lines.push(`Sec-WebSocket-Extensions: ${deflate.header}`);
    lines.push(...extra, "\r\n");
    socket.write(lines.join("\r\n"));
    const ws = new ServerSocket(
      socket,
      upgrade.head,
      protocol ?? "",
      deflate?.params ?? null,
      socketOptions(options),
    );
    // The 101 is out: nothing of the HTTP exchange is needed while the session lasts.
    upgrade.release(this);
    const channel = new WebSocketChannel(ws, options);
    this.#channel = channel;
    const ctx = request[kCtx];
    // The connection handles the socket's errors from now on, and shutdown reaches the session
    // through the open WebSockets.
    ctx.upgraded.remove(upgrade.socket);
    const open = ctx.websockets;
    open.add(this);
    this.#open = open;
    channel[kEndListener] = this;
  }

  /** @internal the connection is fully closed: no longer among the server's open WebSockets */
  [kChannelEnded](): void {
    this.#open?.delete(this);
    this.#open = null;
  }

  #ch(): WebSocketChannel {
    if (this.#channel === null)
      throw new Error("Response is not prepared: call prepare(request) first");
    return this.#channel;
  }

  // ---- the shared API: WebSocketChannel's members, installed below -------------------------

  /** The agreed subprotocol, `null` for none (known from the handshake, before the upgrade). */
  get protocol(): string | null {
    return this.#channel?.protocol ?? this.#protocol;
  }

  static {
    forwardChannelApi(WebSocketResponse.prototype, (ws) => ws.#channel);
  }

  // ---- StreamResponse ------------------------------------------------------------------

  override write(_chunk: string | Uint8Array): Promise<void> {
    return Promise.reject(new Error("Cannot call write() on a WebSocket; use sendStr/sendBytes"));
  }

  /** Closes the WebSocket (code 1000). */
  override async writeEof(): Promise<void> {
    await this.close();
  }

  /** @internal the handler returned: close (if still open) and wait for the connection to end */
  override [kFinish](request: Request): Promise<void> {
    return this.#finish(request);
  }

  async #finish(request: Request): Promise<void> {
    if (!this.prepared) await this.prepare(request);
    const channel = this.#ch();
    await channel.close();
    await channel[kEnded];
  }

  /**
   * @internal the handler failed mid-session: RFC 6455 7.4.1, 1011 tells the client that the
   * server met an unexpected condition
   */
  override async [kCut](): Promise<void> {
    const channel = this.#channel;
    if (channel === null) return;
    await channel.close({ code: 1011, message: "Internal Server Error" });
    await channel[kEnded];
  }

  override toString(): string {
    const state = this.#channel === null ? "not prepared" : this.closed ? "closed" : "open";
    return `<WebSocketResponse ${state}>`;
  }
}

// ---- what every connection with the same options shares -------------------------------------

const socketOptionSets = new Map<string, ServerSocketOptions>();

/** A connection's options (`ws`'s server defaults for what WebSocketOptions does not set). */
function socketOptions(options: WebSocketResponseOptions): ServerSocketOptions {
  const maxPayload = options.maxMsgSize ?? DEFAULT_MAX_MSG_SIZE;
  const autoPong = options.autoping ?? true;
  // Our own close timer ends the handshake; the connection's is a backstop behind it.
  const closeTimeout = (options.timeout ?? DEFAULT_CLOSE_TIMEOUT) + 1000;
  const key = `${maxPayload}|${autoPong}|${closeTimeout}`;
  let shared = socketOptionSets.get(key);
  if (shared === undefined) {
    shared = Object.freeze({
      maxPayload,
      autoPong,
      closeTimeout,
      maxFragments: 16 * 1024,
      maxBufferedChunks: 256 * 1024,
      maxPendingAutoPongs: 60,
    });
    socketOptionSets.set(key, shared);
  }
  return shared;
}

// Most clients offer the same extensions: the agreement (and its parameters, which every
// connection keeps) is made once per distinct header, up to this many.
const MAX_AGREEMENTS = 64;
const agreements = new Map<string, DeflateAgreement | null>();

function agreedDeflate(offers: string): DeflateAgreement | null {
  let agreed = agreements.get(offers);
  if (agreed === undefined) {
    agreed = negotiateDeflate(offers);
    if (agreements.size < MAX_AGREEMENTS) agreements.set(offers, agreed);
  }
  return agreed;
}

/**
 * Graceful shutdown closes the open WebSockets with 1001; one opened after that would hold the
 * shutdown up until `shutdownTimeout`, so it is refused with 503.
 */
function refuseWhileClosing(request: Request): void {
  if (request[kCtx].closing) throw new HTTPServiceUnavailable({ text: "Server shutting down" });
}
