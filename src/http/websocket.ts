// The send/receive half of a WebSocket, shared by the server's WebSocketResponse and the
// client's ClientWebSocketResponse: a message queue over a `ws` socket with one reader,
// backpressure both ways, heartbeat, timeouts and the close handshake.

import type { EventEmitter } from "node:events";
import type { WebSocket as WsClientSocket } from "ws";
import { kChannel, kChannelEnded, kEnded, kEndListener } from "./symbols.js";
import {
  WSCloseCode,
  type WSMessage,
  WSMessageTypeError,
  WSMsgType,
  wsMessage,
} from "./ws-message.js";
import { isValidCloseCode } from "./ws-protocol/frame-parser.js";
import { type FrameSink, ServerSocket } from "./ws-protocol/server-socket.js";

/** Options shared by both sides; every one has a default. */
export interface WebSocketOptions {
  /** Answer pings with pongs and hide pongs from the reader. @default true */
  autoping?: boolean;
  /**
   * Answer the peer's close frame by itself, with the peer's code, and end the connection: at
   * once when every message that came before it was read, else (as aiohttp) when the reader
   * gets to the CLOSE message, so messages sent before the close are still answered; at the
   * latest after `timeout`. With `false` the reader gets the CLOSE message, then CLOSING, and
   * may still send; `close()` sends the answer (with its own code) and ends the connection.
   * @default true
   */
  autoclose?: boolean;
  /**
   * Send a ping after this many ms without traffic; when nothing (a pong or any message) comes
   * back within half of it the connection is closed with 1006 and the reader gets an ERROR
   * then a CLOSED message. `null`: no heartbeat. @default null
   */
  heartbeat?: number | null;
  /** Default time `receive()` waits for a message, ms (`null`: no limit). @default null */
  receiveTimeout?: number | null;
  /** How long `close()` waits for the peer's close frame before cutting the connection, ms. @default 10_000 */
  timeout?: number;
  /** Largest message accepted, bytes; a larger one closes with 1009. 0: no limit. @default 4 MiB */
  maxMsgSize?: number;
}

/** Options of each send. */
export interface WSSendOptions {
  /** Compress this message when permessage-deflate was negotiated. @default true */
  compress?: boolean;
}

/** Options of `sendFrame`. */
export interface WSFrameOptions extends WSSendOptions {
  /** Whether this frame ends the message; `false` starts or continues a fragmented one. @default true */
  fin?: boolean;
}

/** Options of `close()`. */
export interface WSCloseOptions {
  /** @default 1000 */
  code?: number;
  /** The reason sent to the peer, at most 123 bytes of UTF-8. @default "" */
  message?: string;
}

export const DEFAULT_MAX_MSG_SIZE = 4 * 1024 * 1024;
export const DEFAULT_CLOSE_TIMEOUT = 10_000;

/** A protocol failure on an open WebSocket; `closeCode` is the code the connection closed with. */
export class WebSocketError extends Error {
  override readonly name: string = "WebSocketError";
  readonly code: string = "AIOHTTP_WS_ERROR";
  constructor(
    readonly closeCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A send or receive on a WebSocket that is closed. */
export class WebSocketClosedError extends WebSocketError {
  override readonly name = "WebSocketClosedError";
  override readonly code = "AIOHTTP_WS_CLOSED";
  constructor(
    message = "WebSocket connection is closed",
    closeCode: number = WSCloseCode.OK,
    options?: ErrorOptions,
  ) {
    super(closeCode, message, options);
  }
}

/** What timed out: a `receive()`, the heartbeat's pong, or the close handshake. */
export type WebSocketTimeoutKind = "receive" | "heartbeat" | "close";

/** A WebSocket timeout; `kind` says which. */
export class WebSocketTimeoutError extends WebSocketError {
  override readonly name = "WebSocketTimeoutError";
  override readonly code = "AIOHTTP_WS_TIMEOUT";
  constructor(
    readonly kind: WebSocketTimeoutKind,
    message: string,
  ) {
    super(WSCloseCode.ABNORMAL_CLOSURE, message);
  }
}

/** A second `receive()` while one is waiting: a WebSocket has one reader. */
export class ConcurrentReceiveError extends Error {
  override readonly name = "ConcurrentReceiveError";
  readonly code = "AIOHTTP_WS_CONCURRENT_RECEIVE";
  constructor() {
    super("Concurrent call to receive() is not allowed: a WebSocket has one reader");
  }
}

// RFC 6455 7.4.1: the close code that goes with each protocol failure `ws` detects.
const ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: WSCloseCode.INVALID_TEXT,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: WSCloseCode.MESSAGE_TOO_BIG,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: WSCloseCode.MESSAGE_TOO_BIG,
};

// The reader falls behind: stop reading from the socket above these, resume below half.
const QUEUE_HIGH_BYTES = 1024 * 1024;
const QUEUE_HIGH_COUNT = 1024;
// A send waits for the socket once this much is buffered and not yet handed to the kernel.
const SEND_HIGH_WATER_MARK = 64 * 1024;
// aiohttp's THRESHOLD_CONNLOST_ACCESS: a loop that ignores CLOSED fails on the fifth read
// after the end instead of spinning.
const CLOSED_READS_BEFORE_ERROR = 5;

const RESOLVED: Promise<void> = Promise.resolve();
const TERMINAL = new Set<number>([WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED]);

/** Settles the pending read: `receive()` with the message, async iteration with its result. */
type ReadResolver = (
  value: WSMessage | IteratorResult<WSMessage, undefined> | Promise<never>,
) => void;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

function iteratorResult(msg: WSMessage): IteratorResult<WSMessage, undefined> {
  return TERMINAL.has(msg.type) ? DONE : { value: msg, done: false };
}

/**
 * What a channel sends and receives through: `ws`'s WebSocket (the client), or the server's
 * own connection, which has the part of `ws`'s API used here.
 */
type WsSocket = WsClientSocket | ServerSocket;

type OwnedSocket = WsSocket & { [kChannel]: WebSocketChannel };

// Sound: the shared listeners are only added to sockets given their channel first.
function channelOf(ws: WsSocket): WebSocketChannel {
  return (ws as OwnedSocket)[kChannel];
}

/** The listeners every channel adds to its socket (installed by WebSocketChannel). */
let wsListeners: {
  close(this: WsSocket, code: number, reason: Buffer): void;
  message(this: WsSocket, data: Buffer, isBinary: boolean): void;
  ping(this: WsSocket, data: Buffer): void;
  pong(this: WsSocket, data: Buffer): void;
  error(this: WsSocket, err: Error & { code?: string; closeCode?: number }): void;
  conclude(this: OwnedReceiver, code: number, reason: Buffer): void;
};
/** The same, for the server's connections (which hold back the peer's close themselves). */
let serverSink: FrameSink;

/** ws's receiver, told which channel it reads for (#holdCloseAnswer). */
type OwnedReceiver = EventEmitter & { [kChannel]?: WebSocketChannel };
/** ws's own answer to a close frame: its receiver's `conclude` listener. */
type WsAnswer = (this: EventEmitter, code: number, reason: Buffer) => void;
let wsAnswer: WsAnswer | null = null;
/** Answers the peer's close frame with a code and reason. */
type CloseAnswer = (code: number, reason: Buffer) => void;

/** The next message for `for await` (installed by WebSocketChannel, which owns the reads). */
let readNext: (channel: WebSocketChannel) => Promise<IteratorResult<WSMessage, undefined>>;

/**
 * The API both sides of a WebSocket share, by construction: every public member of
 * `WebSocketChannel`. The client's `ClientWebSocketResponse` extends the channel; the server's
 * `WebSocketResponse`, a response, gets each member from the channel's prototype. A member
 * added to the channel appears on both.
 */
export type WebSocketChannelApi = { [K in keyof WebSocketChannel]: WebSocketChannel[K] };

/**
 * An open WebSocket: the API both sides share. Messages are queued as they arrive and read
 * with `receive()` or `for await`; reading stops when the queue grows past 1 MiB, so a slow
 * reader pushes back on the peer.
 */
export class WebSocketChannel implements AsyncIterable<WSMessage> {
  readonly #ws: WsSocket;
  /** Read where used (`#autoping`...): one field, not one per option, on every connection. */
  readonly #options: WebSocketOptions;
  /** Messages not yet read; `null` while there are none (an idle connection's usual state). */
  #queue: WSMessage[] | null = null;
  #queueHead = 0;
  #queuedBytes = 0;
  #paused = false;
  // The pending read, kept in three fields rather than an object of its own: an idle
  // connection always has one. Only its resolve function is kept (a failure resolves it with
  // a rejected promise), so the reject function V8 makes with it can go.
  #resolveRead: ReadResolver | null = null;
  #readTimer: NodeJS.Timeout | undefined;
  /** The pending read is async iteration's: it resolves with an iterator result. */
  #readIterating = false;
  /** `close()` was called, or the connection ended. */
  #closed = false;
  /** The socket is gone. */
  #ended = false;
  #closeCode: number | null = null;
  #exception: Error | null = null;
  #closedReads = 0;
  /** Made when first awaited: most connections end with nobody waiting on it. */
  #endedPromise: Promise<void> | null = null;
  #resolveEnded: (() => void) | null = null;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #pongTimer: NodeJS.Timeout | undefined;
  /** Something arrived since the heartbeat last looked. */
  #activity = false;
  #closeTimedOut = false;
  /** The close code comes from a failure (protocol error, heartbeat), not the close frames. */
  #failed = false;
  /** `autoclose: false` and the peer's close frame came: the answer waits for `close()`. */
  #peerClosing = false;
  #answerClose: CloseAnswer | null = null;
  /** autoclose, and the peer's close came behind unread messages: answered once read. */
  #autoAnswer: NodeJS.Timeout | null = null;
  /** `receive()` or iteration was called at least once. */
  #hasRead = false;
  /** The peer's close frame is held back (see #holdCloseAnswer); autoclose answers it itself. */
  #autoclose = true;
  /** @internal told once the connection is fully closed (the server's open WebSockets) */
  [kEndListener]: { [kChannelEnded](): void } | null = null;

  /**
   * @internal wraps an open socket (the handshake is done); only the package makes channels
   * (`WebSocketResponse.prepare()`, `session.wsConnect()`), so the published types leave it out
   */
  constructor(ws: WsSocket, options: WebSocketOptions = {}) {
    this.#ws = ws;
    this.#options = options;
    // The listeners are shared by every channel and find theirs on the socket: an idle
    // connection costs no closure of its own.
    const owned = ws as OwnedSocket;
    owned[kChannel] = this;
    if (ws instanceof ServerSocket) {
      this.#autoclose = options.autoclose !== false;
      ws.listen(serverSink);
      this.#scheduleHeartbeat();
      return;
    }
    const client = owned as WsClientSocket & OwnedSocket;
    client.on("close", wsListeners.close);
    client.on("message", wsListeners.message);
    // Pings and pongs matter only to the heartbeat and to a reader that gets them (autoping
    // off); `ws` answers pings itself. Two listeners fewer keep ws's listener table small.
    if (this.#heartbeat !== null || !this.#autoping) {
      client.on("ping", wsListeners.ping);
      client.on("pong", wsListeners.pong);
    }
    client.on("error", wsListeners.error);
    this.#holdCloseAnswer(client, options.autoclose !== false);
    this.#scheduleHeartbeat();
  }

  /**
   * `ws` answers a close frame at once, from its receiver's `conclude` listener. This moves
   * that listener behind `close()` (`autoclose: false`), or behind the reading of the messages
   * that came first (autoclose), so the reader gets them and the CLOSE message first and may
   * still send. Should `ws`'s internals not be as expected, the answer stays immediate.
   */
  #holdCloseAnswer(ws: WsClientSocket, auto: boolean): void {
    const receiver = (ws as unknown as { _receiver?: OwnedReceiver })._receiver;
    const listeners = receiver?.listeners("conclude") ?? [];
    if (receiver === undefined || listeners.length !== 1) return;
    const answer = listeners[0] as WsAnswer;
    // ws's listener is one function for every socket; another one is not ws as we know it.
    wsAnswer ??= answer;
    if (answer !== wsAnswer) return;
    receiver.removeListener("conclude", answer);
    receiver[kChannel] = this;
    this.#autoclose = auto;
    receiver.on("conclude", wsListeners.conclude);
  }

  /** The peer's close frame arrived (held back by #holdCloseAnswer, or by the server's socket). */
  #onConclude(answer: CloseAnswer, code: number, reason: Buffer): void {
    // The reader waits with nothing unread (or never reads: a handler that only sends):
    // answered now, the reader gets CLOSE after. Else the reader may still be handling a
    // message that came before the close, and may answer it.
    if (this.#autoclose && (this.#resolveRead !== null || !this.#hasRead)) {
      answer(code, reason);
      return;
    }
    this.#answerClose = answer;
    this.#activity = true;
    this.#peerClosing = true;
    this.#closeCode = code;
    if (this.#autoclose) {
      this.#autoAnswer = setTimeout(() => this.#answerPeer(), this.#closeTimeout);
      this.#autoAnswer.unref();
    }
    this.#push(wsMessage.close(code, reason.toString("utf8")));
  }

  /**
   * autoclose: answers the peer's close with its code, and with no code when it gave none
   * (1005), as an answer given at once does.
   */
  #answerPeer(): void {
    if (this.#autoAnswer === null) return;
    clearTimeout(this.#autoAnswer);
    this.#autoAnswer = null;
    this.#close(this.#closeCode ?? NO_STATUS, "").catch(() => {});
  }

  get #autoping(): boolean {
    return this.#options.autoping ?? true;
  }

  get #heartbeat(): number | null {
    return this.#options.heartbeat ?? null;
  }

  get #receiveTimeout(): number | null {
    return this.#options.receiveTimeout ?? null;
  }

  get #closeTimeout(): number {
    return this.#options.timeout ?? DEFAULT_CLOSE_TIMEOUT;
  }

  // ---- state ---------------------------------------------------------------------------

  /** Whether the connection is closed or closing (after `close()` or the peer's close). */
  get closed(): boolean {
    return this.#closed;
  }

  /** The close code once known: the peer's, 1006 for a lost connection, the error's code. */
  get closeCode(): number | null {
    return this.#closeCode;
  }

  /** The subprotocol agreed in the handshake, `null` for none. */
  get protocol(): string | null {
    return this.#ws.protocol === "" ? null : this.#ws.protocol;
  }

  /** Whether permessage-deflate was negotiated. */
  get compress(): boolean {
    return this.#ws.extensions.includes("permessage-deflate");
  }

  /** The error that ended the connection (protocol failure, heartbeat timeout...), if any. */
  exception(): Error | null {
    return this.#exception;
  }

  /** Bytes queued for sending and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** @internal resolves once the connection is fully closed */
  get [kEnded](): Promise<void> {
    if (this.#endedPromise === null) {
      this.#endedPromise = this.#ended
        ? RESOLVED
        : new Promise((resolve) => {
            this.#resolveEnded = resolve;
          });
    }
    return this.#endedPromise;
  }

  // ---- sending -------------------------------------------------------------------------

  /** Sends a text message. */
  sendStr(data: string, options?: WSSendOptions): Promise<void> {
    if (typeof data !== "string") {
      return Promise.reject(new TypeError(`sendStr() takes a string, got ${typeof data}`));
    }
    return this.#send(data, false, options?.compress, true);
  }

  /** Sends a binary message. */
  sendBytes(data: Uint8Array | ArrayBuffer, options?: WSSendOptions): Promise<void> {
    if (!(data instanceof Uint8Array) && !(data instanceof ArrayBuffer)) {
      return Promise.reject(new TypeError("sendBytes() takes a Uint8Array or an ArrayBuffer"));
    }
    return this.#send(data, true, options?.compress, true);
  }

  /** Sends a value as a JSON text message. */
  sendJson(
    data: unknown,
    options?: WSSendOptions & { dumps?: (value: unknown) => string },
  ): Promise<void> {
    const dumps = options?.dumps ?? JSON.stringify;
    let text: string;
    try {
      text = dumps(data);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.sendStr(text, options);
  }

  /**
   * Sends one frame: TEXT or BINARY (with `fin: false` to start a fragmented message, then
   * CONTINUATION frames), PING, PONG, or CLOSE (same as `close()`).
   */
  sendFrame(
    data: string | Uint8Array,
    opcode: WSMsgType,
    options: WSFrameOptions = {},
  ): Promise<void> {
    switch (opcode) {
      case WSMsgType.TEXT:
      case WSMsgType.BINARY:
      case WSMsgType.CONTINUATION: {
        const binary = opcode === WSMsgType.BINARY || typeof data !== "string";
        return this.#send(data, binary, options.compress, options.fin ?? true);
      }
      case WSMsgType.PING:
        return this.ping(data);
      case WSMsgType.PONG:
        return this.pong(data);
      case WSMsgType.CLOSE: {
        const buf = Buffer.from(data);
        const code = buf.length >= 2 ? buf.readUInt16BE(0) : WSCloseCode.OK;
        return this.close({ code, message: buf.subarray(2).toString("utf8") }).then(() => {});
      }
      default:
        return Promise.reject(new TypeError(`Cannot send a frame of type ${opcode}`));
    }
  }

  /** Sends a ping (payload at most 125 bytes). */
  ping(data: string | Uint8Array = EMPTY): Promise<void> {
    return this.#control(data, true);
  }

  /** Sends an unsolicited pong (payload at most 125 bytes). */
  pong(data: string | Uint8Array = EMPTY): Promise<void> {
    return this.#control(data, false);
  }

  #control(data: string | Uint8Array, ping: boolean): Promise<void> {
    if (this.#closed || this.#ws.readyState !== 1) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(this.#closedError(err)) : resolve());
      try {
        if (ping) this.#ws.ping(data, undefined, done);
        else this.#ws.pong(data, undefined, done);
      } catch (err) {
        reject(err);
      }
    });
  }

  /**
   * Hands a message to the socket. Resolves at once while the socket keeps up; when a message
   * leaves more than the high-water mark buffered, it resolves only once written to the
   * kernel, so a producer that awaits its sends cannot outrun a slow peer.
   */
  #send(
    data: string | Uint8Array | ArrayBuffer,
    binary: boolean,
    compress: boolean | undefined,
    fin: boolean,
  ): Promise<void> {
    const ws = this.#ws;
    if (this.#closed || ws.readyState !== 1) return Promise.reject(this.#closedError());
    // `ws` defaults: a string goes as text, bytes as binary, compressed, whole.
    const opts =
      compress === undefined && fin && binary === (typeof data !== "string")
        ? undefined
        : { binary, compress: compress ?? true, fin };
    // Up to 3 bytes of UTF-8 per UTF-16 unit: an upper bound without encoding twice.
    const size = typeof data === "string" ? data.length * 3 : data.byteLength;
    if (ws.bufferedAmount + size < SEND_HIGH_WATER_MARK) {
      if (opts === undefined) ws.send(data);
      else ws.send(data, opts);
      return RESOLVED;
    }
    // A large message, or a socket behind: wait for this message's write only if it left the
    // buffer over the mark (a socket that takes it at once costs no wait).
    let settle: ((err?: Error | null) => void) | null = null;
    let outcome: Error | null | undefined;
    ws.send(data, opts ?? {}, (err?: Error | null) => {
      if (settle !== null) settle(err);
      else outcome = err ?? null;
    });
    if (outcome === undefined && ws.bufferedAmount < SEND_HIGH_WATER_MARK) return RESOLVED;
    if (outcome !== undefined) {
      return outcome === null ? RESOLVED : Promise.reject(this.#closedError(outcome));
    }
    return new Promise((resolve, reject) => {
      settle = (err) => (err ? reject(this.#closedError(err)) : resolve());
    });
  }

  // ---- receiving -----------------------------------------------------------------------

  /**
   * The next message. After the peer's close it returns the CLOSE message, then CLOSED (the
   * fifth read after the end throws `WebSocketClosedError`, as aiohttp's RuntimeError);
   * while `close()` runs elsewhere, CLOSING. `timeout` (ms) overrides `receiveTimeout`; when
   * it passes a `WebSocketTimeoutError` is thrown and the connection stays open.
   */
  receive(timeout?: number | null): Promise<WSMessage> {
    return this.#read(timeout, false) as Promise<WSMessage>;
  }

  // One read for both `receive()` and `for await`: iteration gets its result object straight
  // from the pending read, without a second promise per message.
  #read(
    timeout: number | null | undefined,
    iterating: boolean,
  ): Promise<WSMessage | IteratorResult<WSMessage, undefined>> {
    if (this.#resolveRead !== null) return Promise.reject(new ConcurrentReceiveError());
    this.#hasRead = true;
    let msg = this.#shift();
    if (msg?.type === WSMsgType.CLOSE) this.#answerPeer();
    // aiohttp: after the peer's close frame, CLOSING until `close()` answers it.
    if (msg === undefined && this.#peerClosing && !this.#closed) msg = wsMessage.closing();
    if (msg === undefined && this.#closed) {
      if (++this.#closedReads >= CLOSED_READS_BEFORE_ERROR) {
        return Promise.reject(new WebSocketClosedError());
      }
      // CLOSING only while a close handshake is under way; a failure ends the connection.
      msg = this.#ended || this.#failed ? wsMessage.closed() : wsMessage.closing();
    }
    if (msg !== undefined) return Promise.resolve(iterating ? iteratorResult(msg) : msg);
    const ms = timeout === undefined ? this.#receiveTimeout : timeout;
    return new Promise((resolve: ReadResolver) => {
      this.#resolveRead = resolve;
      this.#readIterating = iterating;
      if (ms !== null && ms > 0) {
        this.#readTimer = setTimeout(() => {
          this.#readTimer = undefined;
          this.#resolveRead = null;
          const err = new WebSocketTimeoutError("receive", `No message received within ${ms} ms`);
          resolve(Promise.reject(err));
        }, ms);
      }
    });
  }

  /** Hands `msg` to the waiting reader; false when nobody waits. */
  #wake(msg: WSMessage): boolean {
    const resolve = this.#resolveRead;
    if (resolve === null) return false;
    this.#resolveRead = null;
    if (this.#readTimer !== undefined) {
      clearTimeout(this.#readTimer);
      this.#readTimer = undefined;
    }
    resolve(this.#readIterating ? iteratorResult(msg) : msg);
    return true;
  }

  /** The next message, which must be TEXT; else `WSMessageTypeError`. */
  async receiveStr(timeout?: number | null): Promise<string> {
    const msg = await this.receive(timeout);
    if (msg.type !== WSMsgType.TEXT) throw new WSMessageTypeError("TEXT", msg.type);
    return msg.data;
  }

  /** The next message, which must be BINARY; else `WSMessageTypeError`. */
  async receiveBytes(timeout?: number | null): Promise<Buffer> {
    const msg = await this.receive(timeout);
    if (msg.type !== WSMsgType.BINARY) throw new WSMessageTypeError("BINARY", msg.type);
    return msg.data;
  }

  /** The next TEXT message parsed as JSON (`loads` replaces `JSON.parse`). */
  async receiveJson<T = unknown>(
    options: { loads?: (text: string) => T; timeout?: number | null } = {},
  ): Promise<T> {
    const text = await this.receiveStr(options.timeout);
    return options.loads ? options.loads(text) : (JSON.parse(text) as T);
  }

  /** Messages until the connection closes (CLOSE, CLOSING and CLOSED end the loop). */
  [Symbol.asyncIterator](): AsyncIterator<WSMessage, undefined> {
    return new MessageIterator(this);
  }

  static {
    readNext = (channel) =>
      channel.#read(undefined, true) as Promise<IteratorResult<WSMessage, undefined>>;
    wsListeners = {
      // `ws` emits it once.
      close(code, reason) {
        const channel = channelOf(this);
        channel.#onClose(code, reason.toString("utf8"));
        channel.#resolveEnded?.();
        channel.#resolveEnded = null;
        channel[kEndListener]?.[kChannelEnded]();
      },
      message(data, isBinary) {
        const channel = channelOf(this);
        channel.#activity = true;
        channel.#push(isBinary ? wsMessage.binary(data) : wsMessage.text(data.toString("utf8")));
      },
      ping(data) {
        const channel = channelOf(this);
        channel.#activity = true;
        if (!channel.#autoping) channel.#push(wsMessage.ping(data));
      },
      pong(data) {
        const channel = channelOf(this);
        channel.#activity = true;
        if (channel.#pongTimer !== undefined) {
          clearTimeout(channel.#pongTimer);
          channel.#pongTimer = undefined;
          channel.#scheduleHeartbeat();
        }
        if (!channel.#autoping) channel.#push(wsMessage.pong(data));
      },
      error(err) {
        channelOf(this).#onError(err);
      },
      conclude(code, reason) {
        const answer = wsAnswer as WsAnswer;
        (this[kChannel] as WebSocketChannel).#onConclude(
          (c, m) => answer.call(this, c, m),
          code,
          reason,
        );
      },
    };
    serverSink = {
      ...wsListeners,
      closeFrame(code, reason) {
        channelOf(this).#onConclude((c, m) => this.answerClose(c, m), code, reason);
      },
    };
  }

  #push(msg: WSMessage): void {
    if (this.#wake(msg)) return;
    const queue = (this.#queue ??= []);
    queue.push(msg);
    this.#queuedBytes += messageSize(msg);
    if (
      !this.#paused &&
      !this.#ended &&
      (this.#queuedBytes >= QUEUE_HIGH_BYTES || queue.length - this.#queueHead >= QUEUE_HIGH_COUNT)
    ) {
      this.#paused = true;
      this.#ws.pause();
    }
  }

  #shift(): WSMessage | undefined {
    const queue = this.#queue;
    if (queue === null) return undefined;
    const msg = queue[this.#queueHead] as WSMessage;
    queue[this.#queueHead++] = undefined as unknown as WSMessage;
    const left = queue.length - this.#queueHead;
    if (left === 0) {
      this.#queue = null;
      this.#queueHead = 0;
    }
    this.#queuedBytes -= messageSize(msg);
    if (this.#paused && this.#queuedBytes < QUEUE_HIGH_BYTES / 2 && left < QUEUE_HIGH_COUNT / 2) {
      this.#paused = false;
      this.#ws.resume();
    }
    return msg;
  }

  // ---- closing -------------------------------------------------------------------------

  /**
   * Starts the close handshake and waits (up to the close timeout) for the peer's answer.
   * Resolves `true` when this call closed the connection, `false` when it was closed already.
   * A reader waiting in `receive()` gets CLOSING.
   */
  close(options: WSCloseOptions = {}): Promise<boolean> {
    const code = options.code ?? WSCloseCode.OK;
    const message = options.message ?? "";
    if (this.#closed) return Promise.resolve(false);
    try {
      checkClose(code, message);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#close(code, message);
  }

  /** close() past its checks; `code` may be 1005 (NO_STATUS): a close frame without a code. */
  async #close(code: number, message: string): Promise<boolean> {
    if (this.#closed) return false;
    this.#closed = true;
    // Ours until the peer's answer arrives (the peer's own when this answers its close).
    if (!this.#peerClosing) this.#closeCode = code;
    this.#stopHeartbeat();
    this.#wake(wsMessage.closing());
    if (!this.#ended) {
      const timer = setTimeout(() => {
        this.#closeTimedOut = true;
        this.#ws.terminate();
      }, this.#closeTimeout);
      const answer = this.#answerClose;
      this.#answerClose = null;
      if (answer !== null) answer(code, Buffer.from(message));
      else if (code === NO_STATUS) this.#ws.close();
      else this.#ws.close(code, message);
      await this[kEnded];
      clearTimeout(timer);
    }
    return true;
  }

  /** Cuts the connection without a close handshake. */
  terminate(): void {
    this.#closed = true;
    this.#ws.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onClose(code: number, reason: string): void {
    this.#ended = true;
    if (this.#autoAnswer !== null) {
      clearTimeout(this.#autoAnswer);
      this.#autoAnswer = null;
    }
    this.#stopHeartbeat();
    this.#paused = false;
    if (this.#closeTimedOut) {
      this.#closeCode = WSCloseCode.ABNORMAL_CLOSURE;
      this.#exception ??= new WebSocketTimeoutError(
        "close",
        `No close frame received within ${this.#closeTimeout} ms`,
      );
    } else if (!this.#failed && !this.#peerClosing) {
      // The peer's close code (its answer to ours, or its own), 1005 when its frame had
      // none, 1006 when the connection dropped without one.
      this.#closeCode = code;
    }
    if (!this.#closed) {
      // The peer closed (or the connection dropped): the reader sees the close frame first.
      this.#closed = true;
      if (code !== WSCloseCode.ABNORMAL_CLOSURE && !this.#peerClosing) {
        this.#push(wsMessage.close(code, reason));
      }
    }
    this.#wake(wsMessage.closed());
  }

  #onError(err: Error & { code?: string; closeCode?: number }): void {
    const closeCode =
      err.closeCode ?? ERROR_CLOSE_CODES[err.code ?? ""] ?? WSCloseCode.PROTOCOL_ERROR;
    // The socket sends the close frame with that code itself.
    this.#fail(new WebSocketError(closeCode, err.message, { cause: err }));
  }

  /**
   * The connection failed: the first failure sets the close code and the exception, and the
   * reader (unless the connection was closing already) learns why before CLOSED.
   */
  #fail(err: WebSocketError): void {
    this.#exception ??= err;
    if (!this.#failed) {
      this.#failed = true;
      this.#closeCode = err.closeCode;
    }
    if (!this.#closed) {
      this.#closed = true;
      this.#push(wsMessage.error(err));
    }
  }

  #closedError(cause?: Error): WebSocketClosedError {
    const code = this.#closeCode ?? WSCloseCode.OK;
    if (cause === undefined) return new WebSocketClosedError(undefined, code);
    return new WebSocketClosedError(`WebSocket send failed: ${cause.message}`, code, { cause });
  }

  // ---- heartbeat -----------------------------------------------------------------------

  #scheduleHeartbeat(): void {
    const every = this.#heartbeat;
    if (every === null || every <= 0 || this.#closed) return;
    if (this.#heartbeatTimer === undefined) {
      this.#heartbeatTimer = setTimeout(() => this.#beat(), every);
    } else {
      this.#heartbeatTimer.refresh();
    }
  }

  #beat(): void {
    if (this.#closed) return;
    // Traffic since the last look proves the peer alive; pinging would only add noise.
    if (this.#activity) {
      this.#activity = false;
      this.#heartbeatTimer?.refresh();
      return;
    }
    const wait = Math.max(1, Math.floor((this.#heartbeat as number) / 2));
    this.#ws.ping();
    this.#pongTimer = setTimeout(() => this.#pongMissed(wait), wait);
  }

  #pongMissed(wait: number): void {
    this.#pongTimer = undefined;
    // Node runs due timers before it reads the sockets: when the event loop was held up past
    // `wait` (a busy machine, a long synchronous task), a pong that came in time may still be
    // unread. setImmediate runs after that read (the poll phase), so judge then.
    setImmediate(() => this.#judgePong(wait));
  }

  #judgePong(wait: number): void {
    if (this.#closed) return;
    if (this.#activity) {
      this.#activity = false;
      this.#scheduleHeartbeat();
      return;
    }
    // A timeout's close code is 1006: the connection is cut without a close frame.
    this.#fail(new WebSocketTimeoutError("heartbeat", `No PONG received within ${wait} ms`));
    this.#ws.terminate();
  }

  #stopHeartbeat(): void {
    clearTimeout(this.#heartbeatTimer);
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
  }
}

const EMPTY = Buffer.alloc(0);
/** RFC 6455 7.4.1: 1005 stands for a close frame without a code; it is never sent. */
const NO_STATUS = 1005;

/** `for await` over a channel: a method on a prototype, not a closure per loop. */
class MessageIterator implements AsyncIterator<WSMessage, undefined> {
  readonly #channel: WebSocketChannel;
  constructor(channel: WebSocketChannel) {
    this.#channel = channel;
  }
  next(): Promise<IteratorResult<WSMessage, undefined>> {
    return readNext(this.#channel);
  }
}

function messageSize(msg: WSMessage): number {
  switch (msg.type) {
    case WSMsgType.TEXT:
      return msg.data.length * 2;
    case WSMsgType.BINARY:
    case WSMsgType.PING:
    case WSMsgType.PONG:
      return msg.data.length;
    default:
      return 0;
  }
}

/** RFC 6455 7.4: codes an endpoint may send; 5.5: a control payload is at most 125 bytes. */
function checkClose(code: number, message: string): void {
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new RangeError(`Invalid close code ${code}: use 1000-1003, 1007-1014 or 3000-4999`);
  }
  if (Buffer.byteLength(message) > 123) {
    throw new RangeError("The close message must be at most 123 bytes of UTF-8");
  }
}
