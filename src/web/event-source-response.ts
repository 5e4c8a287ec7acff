// Server-Sent Events (HTML Living Standard 9.2, `text/event-stream`), which aiohttp leaves to
// the aiohttp-sse package: a StreamResponse that sends events and keep-alive comments until the
// client leaves, the handler returns, or the server shuts down.

import { HTTPServiceUnavailable } from "./exceptions.js";
import type { Request } from "./request.js";
import { ClientDisconnectedError, StreamResponse, type StreamResponseOptions } from "./response.js";
import { kCtx, kCut } from "./symbols.js";

/** Options of `EventSourceResponse`. */
export interface EventSourceResponseOptions extends StreamResponseOptions {
  /**
   * Milliseconds between keep-alive comments (`: ping`), which stop proxies and load balancers
   * from closing a quiet stream; `0` or `null` sends none.
   * @default 15_000
   */
  ping?: number | null;
  /**
   * The line separator; the standard accepts all three, and a client must too.
   * @default "\r\n" (as aiohttp-sse)
   */
  sep?: "\r\n" | "\n" | "\r";
}

/** The fields of one event besides its data. */
export interface EventOptions {
  /**
   * The event type: a browser dispatches the event to `addEventListener(event, ...)`
   * listeners instead of `onmessage`. No CR or LF.
   * @default none (the browser's type is "message")
   */
  event?: string;
  /**
   * The event id: the browser sends it back as `Last-Event-ID` when it reconnects, so the
   * server can resume after it. No CR, LF or NUL.
   * @default none (the last id the client saw stays in effect)
   */
  id?: string | number;
  /**
   * How long the client waits before reconnecting once the stream ends, in milliseconds.
   * @default none (the client keeps its own delay, about 3 s in browsers)
   */
  retry?: number;
}

/** Matches a line break as the standard's parser sees one: CRLF, LF or CR. */
const LINE_BREAK = /\r\n|\r|\n/;
/** What an event type may not contain (it is one line). */
const NOT_IN_EVENT = /[\r\n]/;
/** What an id may not contain: a line break, or NUL, which makes browsers ignore the field. */
const NOT_IN_ID = /[\r\n\0]/;

/**
 * A stream of server-sent events, for a browser's `EventSource` or any client that reads
 * `text/event-stream`.
 *
 * `send()` resolves to `true` once the event is handed to the socket and to `false` when the
 * stream has ended (the client left, `close()` was called, or the server is shutting down),
 * so that a producer loop ends without an exception: `while (await sse.send(...)) {...}`.
 *
 * @example
 * app.router.addGet("/events", async (request) => {
 *   const sse = new web.EventSourceResponse({ ping: 15_000 });
 *   await sse.prepare(request);
 *   const timer = setInterval(() => void sse.send(new Date().toISOString(), { event: "tick" }), 1000);
 *   await sse.wait(); // until the client leaves, close() is called, or the server shuts down
 *   clearInterval(timer);
 *   return sse;
 * });
 */
export class EventSourceResponse extends StreamResponse {
  readonly #ping: number;
  readonly #sep: string;
  #request: Request | null = null;
  #started: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  // Every write goes through this chain, so a ping never lands inside an event and events
  // keep the order of the send() calls.
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  // No more events: close() or writeEof() was called, or the client left.
  #closing = false;
  #closed: Promise<void> | null = null;
  #ended = false;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(options: EventSourceResponseOptions = {}) {
    const { ping = 15_000, sep = "\r\n", ...rest } = options;
    super(rest);
    if (ping !== null && (!Number.isFinite(ping) || ping < 0)) {
      throw new RangeError(`ping must be a number of milliseconds >= 0, got ${ping}`);
    }
    if (sep !== "\r\n" && sep !== "\n" && sep !== "\r") {
      throw new TypeError(`sep must be "\\r\\n", "\\n" or "\\r", got ${JSON.stringify(sep)}`);
    }
    this.#ping = ping ?? 0;
    this.#sep = sep;
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    const h = this.headers;
    h.set("Content-Type", "text/event-stream; charset=utf-8");
    // A cached or buffered stream is useless to the client: no-cache for caches, and
    // X-Accel-Buffering for nginx, which would otherwise hold events back.
    h.set("Cache-Control", "no-cache");
    h.set("X-Accel-Buffering", "no");
    this.enableChunkedEncoding();
  }

  /** The keep-alive interval in milliseconds; 0 when pings are off. */
  get ping(): number {
    return this.#ping;
  }

  /**
   * The `Last-Event-ID` header of the request: the id of the last event the client received
   * before it reconnected, `undefined` on a first connection.
   */
  get lastEventId(): string | undefined {
    if (this.#request === null)
      throw new Error("Response is not prepared: call prepare(request) first");
    return this.#request.headers.get("Last-Event-ID");
  }

  /** Whether the stream has ended: the client left, or it was closed. */
  get closed(): boolean {
    return this.#closing || this.#ended;
  }

  /**
   * Sends the head at once (so the client's EventSource opens before the first event) and
   * starts the keep-alive pings. Refused with 503 while the server shuts down.
   */
  override prepare(request: Request): Promise<void> {
    if (this.#started === null) {
      if (request[kCtx].closing) {
        return Promise.reject(new HTTPServiceUnavailable({ text: "Server shutting down" }));
      }
      this.#request = request;
      if (request.version.minor >= 1 && request.version.major === 1 && this.keepAlive !== false) {
        this.headers.set("Connection", "keep-alive");
      }
      this.#started = this.#start(request);
      // Events sent before prepare() finished go out after the head.
      this.#queue = this.#started.catch(() => {});
    }
    return this.#started;
  }

  async #start(request: Request): Promise<void> {
    await super.prepare(request);
    const res = request.rawResponse;
    if (res.destroyed) {
      this.#end();
      return;
    }
    res.once("close", () => this.#end());
    // Node holds the head back until the first body write.
    res.flushHeaders();
    if (request.method === "HEAD") {
      // No body to stream: end now (after this, as close() waits for the queue this heads).
      this.close().catch(() => {});
      return;
    }
    if (this.#closing) return;
    if (request[kCtx].closing) {
      // Shutdown began while the head was prepared (an onResponsePrepare callback awaited) and
      // ended the open streams without this one: it ends now, or it would hold shutdown up.
      this.close().catch(() => {});
      return;
    }
    request[kCtx].eventStreams.add(this);
    if (this.#ping > 0) {
      this.#timer = setInterval(() => this.#sendPing(), this.#ping);
      this.#timer.unref();
    }
  }

  /**
   * Sends one event. `data` may span lines (CRLF, LF or CR): each becomes a `data:` line and
   * the client joins them with LF. Resolves to `true` once handed to the socket (waiting while
   * the client reads slowly), `false` when the stream has ended.
   *
   * @throws TypeError when `event` or `id` contain a line break (or `id` a NUL), or `retry` is
   * not an integer >= 0.
   */
  async send(data: string, options: EventOptions = {}): Promise<boolean> {
    if (this.#started === null)
      throw new Error("Response is not prepared: call prepare(request) first");
    return this.#enqueue(this.#format(data, options));
  }

  /** HTML 9.2.5: the event stream format. */
  #format(data: string, options: EventOptions): string {
    if (typeof data !== "string") {
      throw new TypeError(`data must be a string (JSON.stringify objects), got ${typeof data}`);
    }
    const { event, id, retry } = options;
    const sep = this.#sep;
    let text = "";
    if (id !== undefined) {
      const value = String(id);
      if (NOT_IN_ID.test(value)) {
        throw new TypeError(`An event id cannot contain CR, LF or NUL: ${JSON.stringify(value)}`);
      }
      text += `id: ${value}${sep}`;
    }
    if (event !== undefined) {
      if (NOT_IN_EVENT.test(event)) {
        throw new TypeError(`An event type cannot contain CR or LF: ${JSON.stringify(event)}`);
      }
      text += `event: ${event}${sep}`;
    }
    for (const line of data.split(LINE_BREAK)) text += `data: ${line}${sep}`;
    if (retry !== undefined) {
      // HTML 9.2.6: a retry field other than ASCII digits is ignored by the client.
      if (!Number.isSafeInteger(retry) || retry < 0) {
        throw new TypeError(`retry must be an integer number of milliseconds >= 0, got ${retry}`);
      }
      text += `retry: ${retry}${sep}`;
    }
    return text + sep;
  }

  #enqueue(text: string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    this.#pending += 1;
    const sent = this.#queue.then(async () => {
      try {
        if (this.#ended) return false;
        await this.write(text);
        return true;
      } catch (err) {
        if (!(err instanceof ClientDisconnectedError)) throw err;
        this.#end();
        return false;
      } finally {
        this.#pending -= 1;
      }
    });
    this.#queue = sent.catch(() => {});
    return sent;
  }

  /** A comment line: clients ignore it, proxies see traffic. Skipped while a write waits. */
  #sendPing(): void {
    if (this.#pending > 0) return;
    this.#enqueue(`: ping${this.#sep}${this.#sep}`).catch(() => {});
  }

  /**
   * Resolves once the stream has ended: the client left, or `close()` (or the server's
   * shutdown) ended it.
   */
  wait(): Promise<void> {
    if (this.#started === null)
      return Promise.reject(new Error("Response is not prepared: call prepare(request) first"));
    return this.#done;
  }

  /**
   * Ends the stream after the events already sent. A browser's EventSource reconnects after
   * its retry delay; answer that request with 204 to make it stop.
   */
  close(): Promise<void> {
    return this.writeEof();
  }

  /** Ends the stream (what `close()` does); the server calls it when the handler returns. */
  override writeEof(data?: string | Uint8Array): Promise<void> {
    if (this.#started === null) {
      // Nothing to end yet; returned from the handler, the stream is prepared and ended then.
      this.#closing = true;
      return Promise.resolve();
    }
    this.#closed ??= this.#close(data);
    return this.#closed;
  }

  async #close(data?: string | Uint8Array): Promise<void> {
    this.#closing = true;
    this.#stopPings();
    try {
      await this.#queue;
      await super.writeEof(data);
    } finally {
      this.#end();
    }
  }

  /** @internal the handler failed after prepare(): no more pings, then the usual cut */
  override [kCut](): Promise<void> {
    this.#closing = true;
    this.#end();
    return super[kCut]();
  }

  #stopPings(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopPings();
    this.#request?.[kCtx].eventStreams.delete(this);
    this.#resolveDone();
  }
}
