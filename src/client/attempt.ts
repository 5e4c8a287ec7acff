// One attempt of a request on undici, watched by a dispatch handler: aiohttp's `sockRead`
// timeout on native timers, and what the retry rule must know about the connection the request
// went out on (was it reused, did any byte of the answer arrive).

import { subscribe } from "node:diagnostics_channel";
import type { Socket } from "node:net";
import { type Duplex, Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Dispatcher } from "undici";
import { undici } from "./lazy-deps.js";
import type { RequestAbort } from "./request-control.js";

/** What became known about the connection of one attempt. */
export class AttemptInfo {
  /**
   * The request went out on a connection that had carried an earlier request (a keep-alive
   * connection from the pool); `false` on a new one, and while unknown.
   */
  reused = false;
  /** The request was written to a connection (new or reused). */
  connected = false;
  /** A byte of the response arrived (undici saw the start of a message). */
  responseStarted = false;
  /**
   * The request went on to the connector's pool: the session's cache (when it has one) did not
   * answer it alone.
   */
  sent = false;
  /** The server answered a revalidation by the session's cache with 304 (Not Modified). */
  revalidated = false;
  /** The response head was handed on (from the server or from the session's cache). */
  answered = false;
  /** The proxy the request went through, `null` when direct. */
  proxy: URL | null = null;
  /** The connection speaks HTTP/2 (negotiated by ALPN); `false` while unknown. */
  http2 = false;
  /**
   * The connection of the HTTP/2 pool's client the request was handed to (src/client/h2-pool.ts),
   * `null` when it went elsewhere.
   */
  via: PoolConnection | null = null;

  /**
   * Whether the attempt failed the way a stale keep-alive connection fails: the server had
   * closed a reused connection before answering, so the request never reached a handler.
   */
  get staleConnection(): boolean {
    return this.reused && !this.responseStarted;
  }
}

/** What a pool's client knows of its connection (the socket it writes requests on now). */
export interface PoolConnection {
  socket: Socket | null;
  http2: boolean;
}

/** What the attempt dispatcher needs of one request. */
interface AttemptSetup {
  /** The dispatcher the request goes on to (the connector's pool, maybe with layers). */
  readonly target: Dispatcher;
  readonly info: AttemptInfo;
  readonly readTimeout: number;
  readonly makeError: () => Error;
  /** The handler watching the request, once undici has dispatched it. */
  handler: AttemptHandler | null;
}

/**
 * undici's `request()` through `target`, watched: `info` learns about the request's connection,
 * and with `readTimeout` > 0 a request whose server stays silent that long fails with
 * `makeError()`. The watching handler sits right under undici's own request handler and speaks
 * its (legacy) handler interface: an interceptor composed onto `target` instead would cost a
 * dispatcher proxy per request and, over a plain Agent, two handler adapters that turn the
 * response headers from raw bytes to an object and back at each step.
 *
 * `cancel` (a request's own, src/client/request-control.ts) ends the attempt: it settles the
 * promise at once, aborts undici's request and destroys the response body with its reason.
 */
export function attemptRequest(
  target: Dispatcher,
  options: Dispatcher.RequestOptions,
  info: AttemptInfo,
  readTimeout: number,
  makeError: () => Error,
  cancel?: RequestAbort,
): Promise<Dispatcher.ResponseData> {
  const setup: AttemptSetup = { target, info, readTimeout, makeError, handler: null };
  if (cancel === undefined) return send(setup, options);
  if (cancel.aborted) return Promise.reject(cancel.reason);
  // undici is not given the signal (it would add a listener of its own and one more on the
  // body, per request): one listener here does what its request handler would. It stays until
  // the request is over (RequestControl drops them all then), since an abort must still end a
  // body that was received whole but not read. undici also notices an abort only once a
  // connection exists, so a connect that hangs would outlive the total timeout by up to the
  // connect timeout: the promise settles at once. A response that arrives after the abort is
  // discarded.
  return new Promise((resolve, reject) => {
    let settled = false;
    let body: Readable | null = null;
    cancel.on("abort", () => {
      const reason = cancel.reason as Error;
      if (!settled) {
        settled = true;
        reject(reason);
      }
      if (body !== null) body.on("error", noop).destroy(reason);
      else setup.handler?.cancel(reason);
    });
    send(setup, options, (err, data) => {
      if (settled) {
        if (err === null) data.body.destroy();
        return;
      }
      settled = true;
      if (err === null) {
        body = data.body;
        resolve(data);
      } else reject(err);
    });
  });
}

function noop(): void {}

/** undici's `request()` through the attempt dispatcher, as a promise or with a callback. */
function send(
  setup: AttemptSetup,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData>;
function send(
  setup: AttemptSetup,
  options: Dispatcher.RequestOptions,
  callback: (err: Error | null, data: Dispatcher.ResponseData) => void,
): void;
function send(
  setup: AttemptSetup,
  options: Dispatcher.RequestOptions,
  callback?: (err: Error | null, data: Dispatcher.ResponseData) => void,
): Promise<Dispatcher.ResponseData> | undefined {
  // undici's `request()` calls `dispatch` in the same synchronous step (or throws first).
  handoff = setup;
  try {
    if (callback === undefined) return attemptDispatcher().request(options);
    attemptDispatcher().request(options, callback);
    return undefined;
  } finally {
    handoff = null;
  }
}

/** The setup of the request being handed to `dispatch` (rather than a copy of its options). */
let handoff: AttemptSetup | null = null;
let shared: Dispatcher | undefined;

/** The one dispatcher whose `dispatch` watches each request and hands it on to its target. */
function attemptDispatcher(): Dispatcher {
  if (shared === undefined) {
    // undici is loaded on first use (lazy-deps.ts), so the class is made then.
    class AttemptDispatcher extends undici().Dispatcher {
      override dispatch(
        opts: Dispatcher.DispatchOptions,
        handler: Dispatcher.DispatchHandler,
      ): boolean {
        const setup = handoff;
        handoff = null;
        if (setup === null) throw new TypeError("dispatch() is only called by attemptRequest()");
        const watch = new AttemptHandler(handler as LegacyHandler, setup, opts);
        setup.handler = watch;
        watchBodyEnd(opts.body, () => watch.bodySent());
        return setup.target.dispatch(opts, watch);
      }
    }
    shared = new AttemptDispatcher();
  }
  return shared;
}

// undici tells a dispatch handler nothing of the socket its request goes out on. Its
// `undici:client:sendHeaders` channel does, right after calling the handler's
// `onRequestStart` in the same synchronous step (client-h1 `writeH1`), so the handler that
// started last is the one the socket belongs to. A subscriber makes undici build a header
// string for every HTTP/2 request, though: requests the HTTP/2 pool handed to a connection it
// knows speaks h2 learn it from the pool instead, and the channel is subscribed to (for good)
// only when a request is written that cannot.
let starting: AttemptHandler | null = null;
/** Requests sent on each socket so far: more than one means a reused connection. */
const sent = new WeakMap<Socket, number>();
let listening = false;

function listenForSockets(): void {
  if (listening) return;
  listening = true;
  subscribe("undici:client:sendHeaders", (message) => {
    const { request, socket } = message as {
      request: { method: string; path: string };
      socket: Socket;
    };
    const count = sent.get(socket) ?? 0;
    sent.set(socket, count + 1);
    const handler = starting;
    starting = null;
    if (handler?.isFor(request.method, request.path) === true) {
      // undici 7 publishes this for h2 streams too, with the session's TLS socket.
      handler.onSocket(count > 0, (socket as TLSSocket).alpnProtocol === "h2");
    }
  });
}

/**
 * Calls `onEnd` once undici has read `body` to its end; at once for a body written with the
 * head. A Readable is watched without touching its flow. FormData, which undici streams itself,
 * counts as sent with the head. (Sessions hand every other stream over as a Readable.)
 */
function watchBodyEnd(body: Dispatcher.DispatchOptions["body"], onEnd: () => void): void {
  if (body instanceof Readable && !body.readableEnded) body.once("end", onEnd);
  else onEnd();
}

/**
 * undici's handler interface as its `request()` handler implements it (the one `Request`
 * calls): `false` from `onHeaders`/`onData` pauses the response until `resume` is called.
 */
interface LegacyHandler {
  onConnect?(abort: (err?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(
    statusCode: number,
    rawHeaders: Buffer[],
    resume: () => void,
    statusText: string,
  ): boolean | undefined;
  onData?(chunk: Buffer): boolean | undefined;
  onComplete?(trailers: string[] | null): void;
  onError?(err: Error): void;
  onUpgrade?(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void;
}

/**
 * The read timeout aborts a request when the server sends nothing for `ms` while the reader
 * wants data, as aiohttp's `sockRead`: the clock starts once the request is sent (aiohttp#7149:
 * a slow upload is not a slow server), restarts with every chunk, and stops while the reader
 * has paused the body (a slow consumer is not a slow server either). It runs on native timers:
 * undici's own `headersTimeout`/`bodyTimeout` tick about every half second, so a 100 ms limit
 * fired after up to a second.
 */
class AttemptHandler implements LegacyHandler {
  readonly #inner: LegacyHandler;
  readonly #info: AttemptInfo;
  readonly #method: string;
  readonly #path: string;
  readonly #ms: number;
  readonly #makeError: () => Error;
  #timer: NodeJS.Timeout | undefined;
  #abort: ((err?: Error) => void) | undefined;
  #paused = false;
  #started = false;
  /** Why the request was cancelled before undici connected it. */
  #cancelled: Error | undefined;
  #sent = false;
  #over = false;
  /** Over HTTP/2, the body's declared length (-1: none, or not HTTP/2), and what came. */
  #expected = -1;
  #received = 0;

  constructor(inner: LegacyHandler, setup: AttemptSetup, opts: Dispatcher.DispatchOptions) {
    this.#inner = inner;
    this.#info = setup.info;
    this.#method = opts.method;
    this.#path = opts.path;
    this.#ms = setup.readTimeout;
    this.#makeError = setup.makeError;
  }

  isFor(method: string, path: string): boolean {
    return method === this.#method && path === this.#path;
  }

  onSocket(reused: boolean, http2: boolean): void {
    this.#info.connected = true;
    this.#info.reused = reused;
    this.#info.http2 = http2;
  }

  /** Aborts the request (as undici's request handler does for its signal); at once if running. */
  cancel(reason: Error): void {
    if (this.#over) return;
    if (this.#abort === undefined) this.#cancelled = reason;
    else this.#abort(reason);
  }

  /** The request body has been handed to the socket: the server's turn starts. */
  bodySent(): void {
    this.#sent = true;
    if (this.#started) this.#arm();
  }

  #arm(): void {
    if (this.#ms === 0 || this.#over || this.#paused) return;
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        // Node runs due timers before it reads sockets (asyncio, under aiohttp, reads first):
        // after the event loop was held up, data that came in time may still be unread.
        // setImmediate runs after that read, when data would have armed a new timer.
        setImmediate(() => this.#expire());
      }, this.#ms);
    } else this.#timer.refresh();
  }

  #expire(): void {
    if (this.#over || this.#timer !== undefined || this.#paused) return;
    this.#over = true;
    this.#abort?.(this.#makeError());
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #stop(): void {
    this.#over = true;
    this.#disarm();
  }

  /** The reader said "enough for now": the clock stops until it asks for more. */
  #pauseIf(go: boolean | undefined): boolean {
    if (go !== false) return true;
    this.#paused = true;
    this.#disarm();
    return false;
  }

  /** `resume`, restarting the clock: the reader wants data again. */
  #resumer(resume: () => void): () => void {
    if (this.#ms === 0) return resume;
    return () => {
      this.#paused = false;
      resume();
      this.#arm();
    };
  }

  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    // undici writes the request in this same step: the pool's client is on its socket now.
    const via = this.#info.via;
    if (!listening && via !== null && via.http2 && via.socket !== null) {
      const count = sent.get(via.socket) ?? 0;
      sent.set(via.socket, count + 1);
      this.onSocket(count > 0, true);
    } else {
      listenForSockets();
      starting = this;
    }
    this.#abort = abort;
    this.#started = true;
    if (this.#sent) this.#arm();
    this.#inner.onConnect?.(abort, context);
    if (this.#cancelled !== undefined) abort(this.#cancelled);
  }

  onResponseStarted(): void {
    this.#info.responseStarted = true;
    this.#inner.onResponseStarted?.();
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    this.#stop();
    this.#inner.onUpgrade?.(statusCode, rawHeaders, socket);
  }

  onHeaders(
    statusCode: number,
    rawHeaders: Buffer[],
    resume: () => void,
    statusText: string,
  ): boolean {
    this.#info.answered = true;
    // An early answer (before the body is all sent) starts the clock too. An informational one
    // (103 Early Hints...) does not restart it: the final head is still awaited, and a server
    // sending 1xx heads forever would otherwise never time out.
    if (statusCode >= 200) this.#arm();
    if (this.#info.http2 && statusCode >= 200)
      this.#expected = declaredLength(rawHeaders, this.#method);
    return this.#pauseIf(
      this.#inner.onHeaders?.(statusCode, rawHeaders, this.#resumer(resume), statusText),
    );
  }

  onData(chunk: Buffer): boolean {
    if (this.#expected >= 0) {
      this.#received += chunk.length;
      if (this.#received > this.#expected) {
        this.#abort?.(lengthMismatch(this.#received, this.#expected));
        return false;
      }
    }
    this.#arm();
    return this.#pauseIf(this.#inner.onData?.(chunk));
  }

  onComplete(trailers: string[] | null): void {
    // undici checks Content-Length on HTTP/1.1 only; over HTTP/2 a stream the server ends
    // early (END_STREAM after part of the body, as node:http2's `stream.close(code)` sends)
    // would read as a complete, shorter body. RFC 9113 8.1.1: such a response is malformed.
    if (this.#expected >= 0 && this.#received !== this.#expected) {
      this.onError(lengthMismatch(this.#received, this.#expected));
      return;
    }
    this.#stop();
    this.#inner.onComplete?.(trailers);
  }

  onError(err: Error): void {
    this.#stop();
    this.#inner.onError?.(err);
  }
}

/** The Content-Length of an HTTP/2 answer with a body, -1 when it has none or none is given. */
function declaredLength(rawHeaders: readonly (Buffer | string)[], method: string): number {
  if (method === "HEAD") return -1;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    // Buffers from undici's HTTP/2 client (strings are taken too): only a name of the right
    // length is turned into a string.
    const raw = rawHeaders[i];
    if (raw === undefined || raw.length !== 14) continue;
    if (String(raw).toLowerCase() !== "content-length") continue;
    const value = String(rawHeaders[i + 1]);
    return /^\d+$/.test(value) ? Number(value) : -1;
  }
  return -1;
}

function lengthMismatch(received: number, expected: number): Error {
  return Object.assign(
    new Error(
      `Response body length does not match content-length header (${received} bytes received, ${expected} declared)`,
    ),
    { code: "UND_ERR_RES_CONTENT_LENGTH_MISMATCH" },
  );
}
