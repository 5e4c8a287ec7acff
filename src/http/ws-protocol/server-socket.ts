// A server's open WebSocket connection after the 101: frames in (FrameParser), frames out, and
// the close handshake, with `ws`'s behaviour and the part of its API the message channel uses.
// It replaces `ws`'s WebSocket, Receiver, Sender and PerMessageDeflate objects on the server
// (issue 13: an idle session should keep little more than its socket); the client keeps `ws`.

import type { Duplex } from "node:stream";
import { kChannel } from "../symbols.js";
import { MessageDeflate } from "./deflate.js";
import {
  type ClosingError,
  type FrameLimits,
  FrameParser,
  isValidCloseCode,
  PARSER_HIGH_WATER_MARK,
} from "./frame-parser.js";
import type { DeflateParams } from "./handshake.js";

/** The connection's listeners; `this` is the connection. One object serves every connection. */
export interface FrameSink {
  message(this: ServerSocket, data: Buffer, isBinary: boolean): void;
  ping(this: ServerSocket, data: Buffer): void;
  pong(this: ServerSocket, data: Buffer): void;
  /** The connection is closed: the peer's close code (1005 none, 1006 no close frame). */
  close(this: ServerSocket, code: number, reason: Buffer): void;
  error(this: ServerSocket, err: ClosingError & { code?: string }): void;
  /** The peer's close frame: answer it with `answerClose()` (now or later). */
  closeFrame(this: ServerSocket, code: number, reason: Buffer): void;
}

/** A connection's options, shared by every connection made with the same ones. */
export interface ServerSocketOptions extends FrameLimits {
  /** Answer pings. */
  readonly autoPong: boolean;
  /** Pings left unanswered (the socket not keeping up) before the connection is cut. */
  readonly maxPendingAutoPongs: number;
  /** After `close()`, how long the peer has to close its side before the socket is cut. */
  readonly closeTimeout: number;
}

/** `send()`'s options (`ws`'s). */
export interface SendOptions {
  readonly binary?: boolean;
  readonly compress?: boolean;
  readonly fin?: boolean;
}

type SendCallback = (err?: Error | null) => void;

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const STATE_NAMES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];
const EMPTY: Buffer = Buffer.alloc(0);
/** ws's threshold: without context takeover, messages under it go uncompressed. */
const COMPRESS_THRESHOLD = 1024;

// The connection's yes/no state, one bit each in `#flags` (an idle session keeps one number,
// not nine fields).
/** Our close frame is written. */
const SENT_CLOSE = 1 << 0;
/** The peer's close frame came. */
const GOT_CLOSE = 1 << 1;
/** The peer broke the protocol; the error was told (once). */
const ERRORED = 1 << 2;
/** The socket closed; 'close' waits for an inflation in flight. */
const SOCKET_CLOSED = 1 << 3;
/** `pause()` was called (the reader fell behind). */
const PAUSED = 1 << 4;
/** Paused while an inflation held a backlog. */
const BACKLOG_PAUSED = 1 << 5;
/** A compression is in flight: later frames queue behind it. */
const COMPRESSING = 1 << 6;
/** The next data frame starts a message. */
const FIRST_FRAGMENT = 1 << 7;
/** The message being sent is compressed (all its frames). */
const COMPRESS_MESSAGE = 1 << 8;

/** A frame waiting behind a compression in flight. */
interface Queued {
  readonly data: Buffer | string;
  readonly byteLength: number;
  readonly b0: number;
  readonly compress: boolean;
  readonly fin: boolean;
  readonly callback: SendCallback | undefined;
}

const kConnection: unique symbol = Symbol("connection");
type OwnedDuplex = Duplex & { [kConnection]?: ServerSocket };

/** An open WebSocket on the server side of an upgraded connection. */
export class ServerSocket extends FrameParser {
  protected readonly limits: ServerSocketOptions;
  readonly #socket: OwnedDuplex;
  readonly #protocol: string;
  readonly #deflateParams: DeflateParams | null;
  /** zlib state, made with the first compressed message. */
  #deflate: MessageDeflate | null = null;
  #sink: FrameSink | null = null;
  #readyState = OPEN;
  #flags = FIRST_FRAGMENT;
  #closeCode = 1006;
  #closeMessage = EMPTY;
  #closeTimer: NodeJS.Timeout | null = null;
  /** @internal the channel reading this connection (a field, so setting it adds no property) */
  [kChannel]: object | null = null;
  #pendingAutoPongs = 0;
  #autoPongDone: (() => void) | null = null;
  // The frames going out: a compression in flight holds the ones behind it, in order.
  #sendQueue: Queued[] | null = null;
  #bufferedBytes = 0;

  constructor(
    socket: Duplex,
    head: Buffer,
    protocol: string,
    deflate: DeflateParams | null,
    options: ServerSocketOptions,
  ) {
    super();
    this.#socket = socket;
    this.#protocol = protocol;
    this.#deflateParams = deflate;
    this.limits = options;
    const owned = this.#socket;
    owned[kConnection] = this;
    const net = socket as Duplex & { setTimeout?(ms: number): void; setNoDelay?(): void };
    net.setTimeout?.(0);
    net.setNoDelay?.();
    if (head.length > 0) socket.unshift(head);
    socket.on("close", onSocketClose);
    socket.on("data", onSocketData);
    socket.on("end", onSocketEnd);
    socket.on("error", onSocketError);
  }

  /** Whether any of `flags` is set. */
  #is(flags: number): boolean {
    return (this.#flags & flags) !== 0;
  }

  /** Hands events to `sink` (one listener object for all connections). */
  listen(sink: FrameSink): void {
    this.#sink = sink;
  }

  // ---- ws's WebSocket API, the part the channel uses --------------------------------------

  get protocol(): string {
    return this.#protocol;
  }

  get extensions(): string {
    return this.#deflateParams === null ? "" : "permessage-deflate";
  }

  get readyState(): number {
    return this.#readyState;
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength + this.#bufferedBytes;
  }

  pause(): void {
    if (this.#readyState === CLOSED) return;
    this.#flags |= PAUSED;
    this.#socket.pause();
  }

  resume(): void {
    if (this.#readyState === CLOSED) return;
    this.#flags &= ~PAUSED;
    if (!this.#is(BACKLOG_PAUSED)) this.#socket.resume();
  }

  send(data: string | Uint8Array | ArrayBuffer, options?: SendOptions, cb?: SendCallback): void {
    const payload = typeof data === "string" ? data : toBuffer(data);
    if (this.#readyState !== OPEN) {
      this.#sendAfterClose(payload, cb);
      return;
    }
    const byteLength = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
    const binary = options?.binary ?? typeof data !== "string";
    const fin = options?.fin ?? true;
    let opcode = binary ? 0x02 : 0x01;
    let rsv1 = (options?.compress ?? true) && this.#deflateParams !== null;
    if (this.#is(FIRST_FRAGMENT)) {
      this.#flags &= ~FIRST_FRAGMENT;
      if (rsv1 && this.#deflateParams?.serverNoContextTakeover === true) {
        rsv1 = byteLength >= COMPRESS_THRESHOLD;
      }
      if (rsv1) this.#flags |= COMPRESS_MESSAGE;
      else this.#flags &= ~COMPRESS_MESSAGE;
    } else {
      rsv1 = false;
      opcode = 0x00;
    }
    if (fin) this.#flags |= FIRST_FRAGMENT;
    const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
    const compress = this.#is(COMPRESS_MESSAGE);
    // The common case, with nothing to wait for, costs no queue entry.
    if (!compress && !this.#is(COMPRESSING)) this.#write(b0, payload, byteLength, cb);
    else this.#frame({ data: payload, byteLength, b0, compress, fin, callback: cb });
  }

  ping(data?: string | Uint8Array, _mask?: undefined, cb?: SendCallback): void {
    this.#control(0x89, data, cb);
  }

  pong(data?: string | Uint8Array, _mask?: undefined, cb?: SendCallback): void {
    this.#control(0x8a, data, cb);
  }

  /** Starts the close handshake (`ws`'s `close()`): sends a close frame, ends after the peer's. */
  close(code?: number, reason?: string | Buffer): void {
    if (this.#readyState === CLOSED) return;
    if (this.#readyState === CLOSING) {
      if (this.#is(SENT_CLOSE) && this.#is(GOT_CLOSE | ERRORED)) this.#socket.end();
      return;
    }
    const payload = closePayload(code, reason);
    this.#frame({
      data: payload,
      byteLength: payload.length,
      b0: 0x88,
      compress: false,
      fin: true,
      callback: (err) => {
        // A failed write is the socket's error, handled there.
        if (err) return;
        this.#flags |= SENT_CLOSE;
        if (this.#is(GOT_CLOSE | ERRORED)) this.#socket.end();
      },
    });
    this.#readyState = CLOSING;
    const socket = this.#socket;
    this.#closeTimer = setTimeout(() => socket.destroy(), this.limits.closeTimeout);
  }

  /** Answers the peer's close frame (held back by the channel until it chose to). */
  answerClose(code: number, reason: Buffer): void {
    this.#closeCode = code;
    this.#closeMessage = reason;
    if (this.#is(SOCKET_CLOSED)) return;
    if (code === 1005) this.close();
    else this.close(code, reason);
  }

  /** Cuts the connection without a close handshake. */
  terminate(): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CLOSING;
    this.#socket.destroy();
  }

  // ---- sending -------------------------------------------------------------------------

  #control(b0: number, data: string | Uint8Array | undefined, cb: SendCallback | undefined): void {
    const payload =
      data === undefined ? EMPTY : typeof data === "string" ? Buffer.from(data) : toBuffer(data);
    if (payload.length > 125) {
      throw new RangeError("The data size must not be greater than 125 bytes");
    }
    if (this.#readyState !== OPEN) {
      this.#sendAfterClose(payload, cb);
      return;
    }
    this.#frame({
      data: payload,
      byteLength: payload.length,
      b0,
      compress: false,
      fin: true,
      callback: cb,
    });
  }

  #sendAfterClose(data: Buffer | string, cb: SendCallback | undefined): void {
    this.#bufferedBytes += typeof data === "string" ? Buffer.byteLength(data) : data.length;
    if (cb === undefined) return;
    const state = this.#readyState;
    const err = new Error(`WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
    process.nextTick(cb, err);
  }

  #frame(frame: Queued): void {
    if (this.#is(COMPRESSING)) {
      this.#bufferedBytes += frame.byteLength;
      (this.#sendQueue ??= []).push(frame);
      return;
    }
    this.#dispatch(frame);
  }

  #dispatch(frame: Queued): void {
    if (!frame.compress) {
      this.#write(frame.b0, frame.data, frame.byteLength, frame.callback);
      return;
    }
    const deflate = this.#zlib();
    this.#bufferedBytes += frame.byteLength;
    this.#flags |= COMPRESSING;
    deflate.compress(frame.data, frame.fin, (err, out) => {
      if (err !== null || this.#socket.destroyed) {
        this.#failSends(
          err ?? new Error("The socket was closed while data was being compressed"),
          frame,
        );
        return;
      }
      this.#bufferedBytes -= frame.byteLength;
      this.#flags &= ~COMPRESSING;
      this.#write(frame.b0, out, out.length, frame.callback);
      this.#dequeue();
    });
  }

  #dequeue(): void {
    const queue = this.#sendQueue;
    while (!this.#is(COMPRESSING) && queue !== null && queue.length > 0) {
      const frame = queue.shift() as Queued;
      this.#bufferedBytes -= frame.byteLength;
      this.#dispatch(frame);
    }
    if (queue !== null && queue.length === 0 && this.#sendQueue === queue) this.#sendQueue = null;
  }

  #failSends(err: Error, frame: Queued): void {
    frame.callback?.(err);
    const queue = this.#sendQueue ?? [];
    this.#sendQueue = null;
    for (const queued of queue) queued.callback?.(err);
  }

  /** RFC 6455 5.2: a server's frame, unmasked. */
  #write(b0: number, data: Buffer | string, length: number, cb: SendCallback | undefined): void {
    let head: Buffer;
    if (length < 126) {
      head = Buffer.allocUnsafe(2);
      head[1] = length;
    } else if (length < 65536) {
      head = Buffer.allocUnsafe(4);
      head[1] = 126;
      head.writeUInt16BE(length, 2);
    } else {
      head = Buffer.allocUnsafe(10);
      head[1] = 127;
      head[2] = 0;
      head[3] = 0;
      head.writeUIntBE(length, 4, 6);
    }
    head[0] = b0;
    const socket = this.#socket;
    if (length === 0) {
      socket.write(head, cb);
      return;
    }
    socket.cork();
    socket.write(head);
    socket.write(data, cb);
    socket.uncork();
  }

  /** The zlib state, made with the first compressed message either way (deflate was agreed). */
  #zlib(): MessageDeflate {
    this.#deflate ??= new MessageDeflate(
      this.#deflateParams as DeflateParams,
      this.limits.maxPayload,
    );
    return this.#deflate;
  }

  // ---- receiving (FrameParser's hooks) -------------------------------------------------

  protected get deflating(): boolean {
    return this.#deflateParams !== null;
  }

  protected inflate(
    data: Buffer,
    fin: boolean,
    cb: (err: Error | null, out: Buffer) => void,
  ): void {
    const deflate = this.#zlib();
    deflate.decompress(data, fin, cb);
  }

  protected onMessage(data: Buffer, binary: boolean): void {
    this.#sink?.message.call(this, data, binary);
  }

  protected onPing(data: Buffer): void {
    if (this.limits.autoPong && this.#readyState === OPEN) {
      const max = this.limits.maxPendingAutoPongs;
      if (max > 0 && this.#pendingAutoPongs >= max) {
        this.terminate();
      } else {
        this.#pendingAutoPongs++;
        this.#autoPongDone ??= () => {
          this.#pendingAutoPongs--;
        };
        this.pong(data, undefined, this.#autoPongDone);
      }
    }
    this.#sink?.ping.call(this, data);
  }

  protected onPong(data: Buffer): void {
    this.#sink?.pong.call(this, data);
  }

  protected onCloseFrame(code: number, reason: Buffer): void {
    this.#flags |= GOT_CLOSE;
    this.#closeCode = code;
    // A view into the socket's chunk: a copy of its own keeps the chunk from being pinned.
    this.#closeMessage = reason.length === 0 ? EMPTY : Buffer.from(reason);
    if (this.#is(SOCKET_CLOSED)) return;
    this.#stopReading();
    const sink = this.#sink;
    if (sink !== null) sink.closeFrame.call(this, code, this.#closeMessage);
    else this.answerClose(code, this.#closeMessage);
  }

  protected onFrameError(err: ClosingError): void {
    this.#flags |= ERRORED;
    if (!this.#is(SOCKET_CLOSED)) {
      this.#stopReading();
      this.close(err.closeCode ?? 1002);
    }
    this.#sink?.error.call(this, err);
    if (this.#is(SOCKET_CLOSED)) this.#emitClose();
  }

  protected onIdle(): void {
    if (this.#is(BACKLOG_PAUSED)) {
      this.#flags &= ~BACKLOG_PAUSED;
      if (!this.#is(PAUSED) && !this.#is(SOCKET_CLOSED)) this.#socket.resume();
    }
    if (this.#is(SOCKET_CLOSED)) this.#emitClose();
  }

  /** Nothing more is read: what still arrives is dropped, so the peer's FIN can be seen. */
  #stopReading(): void {
    const socket = this.#socket;
    socket.removeListener("data", onSocketData);
    process.nextTick(resumeSocket, socket);
  }

  // ---- the socket's events -------------------------------------------------------------

  /** @internal a chunk from the socket */
  received(chunk: Buffer): void {
    this.parse(chunk);
    if (
      this.parserBusy &&
      this.parserBacklog >= PARSER_HIGH_WATER_MARK &&
      !this.#is(BACKLOG_PAUSED)
    ) {
      this.#flags |= BACKLOG_PAUSED;
      this.#socket.pause();
    }
  }

  /** @internal the peer ended its side */
  ended(): void {
    this.#readyState = CLOSING;
    this.#socket.end();
  }

  /** @internal the socket failed */
  failed(): void {
    this.#readyState = CLOSING;
    this.#socket.destroy();
  }

  /** @internal the socket closed */
  socketClosed(): void {
    const socket = this.#socket;
    socket.removeListener("close", onSocketClose);
    socket.removeListener("data", onSocketData);
    socket.removeListener("end", onSocketEnd);
    this.#readyState = CLOSING;
    // Bytes read but not yet handed over (the socket was paused): their frames still count.
    if (!socket.readableEnded && !this.#is(GOT_CLOSE | ERRORED) && socket.readableLength !== 0) {
      const chunk = socket.read(socket.readableLength) as Buffer | null;
      if (chunk !== null) this.parse(chunk);
    }
    this.#flags |= SOCKET_CLOSED;
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
    // An inflation in flight finishes first (its message is delivered), and a failure is
    // told first; each ends in 'close' then.
    if (!this.parserBusy) this.#emitClose();
  }

  #emitClose(): void {
    if (this.#readyState === CLOSED) return;
    this.#deflate?.cleanup();
    this.#readyState = CLOSED;
    this.#sink?.close.call(this, this.#closeCode, this.#closeMessage);
  }
}

function connectionOf(socket: OwnedDuplex): ServerSocket {
  return socket[kConnection] as ServerSocket;
}

function onSocketData(this: OwnedDuplex, chunk: Buffer): void {
  connectionOf(this).received(chunk);
}

function onSocketEnd(this: OwnedDuplex): void {
  connectionOf(this).ended();
}

function onSocketClose(this: OwnedDuplex): void {
  connectionOf(this).socketClosed();
}

function onSocketError(this: OwnedDuplex): void {
  this.removeListener("error", onSocketError);
  this.on("error", ignore);
  connectionOf(this).failed();
}

function ignore(): void {}

function resumeSocket(socket: Duplex): void {
  socket.resume();
}

function toBuffer(data: Uint8Array | ArrayBuffer): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** RFC 6455 5.5.1: a close frame's payload (empty without a code). */
function closePayload(code: number | undefined, reason: string | Buffer | undefined): Buffer {
  if (code === undefined) return EMPTY;
  if (!isValidCloseCode(code))
    throw new TypeError("First argument must be a valid error code number");
  const text = reason ?? EMPTY;
  const length = typeof text === "string" ? Buffer.byteLength(text) : text.length;
  if (length > 123) throw new RangeError("The message must not be greater than 123 bytes");
  const payload = Buffer.allocUnsafe(2 + length);
  payload.writeUInt16BE(code, 0);
  if (typeof text === "string") payload.write(text, 2);
  else payload.set(text, 2);
  return payload;
}
