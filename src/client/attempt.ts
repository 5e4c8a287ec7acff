// One attempt of a request on undici, watched by a dispatch handler: aiohttp's `sockRead`
// timeout on native timers, and what the retry rule must know about the connection the request
// went out on (was it reused, did any byte of the answer arrive).

import { subscribe } from "node:diagnostics_channel";
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { type Duplex, Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Dispatcher } from "undici";

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
   * Whether the attempt failed the way a stale keep-alive connection fails: the server had
   * closed a reused connection before answering, so the request never reached a handler.
   */
  get staleConnection(): boolean {
    return this.reused && !this.responseStarted;
  }
}

/**
 * An undici interceptor that watches each request: `info` learns about its connection, and with
 * `readTimeout` > 0 a request whose server stays silent that long fails with `makeError()`.
 */
export function attemptInterceptor(
  info: AttemptInfo,
  readTimeout: number,
  makeError: () => Error,
): Dispatcher.DispatcherComposeInterceptor {
  listenForSockets();
  return (dispatch) => (opts, handler) => {
    const watch = new AttemptHandler(handler, info, opts, readTimeout, makeError);
    watchBodyEnd(opts.body, () => watch.bodySent());
    return dispatch(opts, watch);
  };
}

// undici tells a dispatch handler nothing of the socket its request goes out on. Its
// `undici:client:sendHeaders` channel does, right after calling the handler's
// `onRequestStart` in the same synchronous step (client-h1 `writeH1`), so the handler that
// started last is the one the socket belongs to.
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
 * The read timeout aborts a request when the server sends nothing for `ms` while the reader
 * wants data, as aiohttp's `sockRead`: the clock starts once the request is sent (aiohttp#7149:
 * a slow upload is not a slow server), restarts with every chunk, and stops while the reader
 * has paused the body (a slow consumer is not a slow server either). It runs on native timers:
 * undici's own `headersTimeout`/`bodyTimeout` tick about every half second, so a 100 ms limit
 * fired after up to a second.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #info: AttemptInfo;
  readonly #method: string;
  readonly #path: string;
  readonly #ms: number;
  readonly #makeError: () => Error;
  #timer: NodeJS.Timeout | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #proxy: Dispatcher.DispatchController | undefined;
  #started = false;
  #sent = false;
  #over = false;

  constructor(
    inner: Dispatcher.DispatchHandler,
    info: AttemptInfo,
    opts: Dispatcher.DispatchOptions,
    ms: number,
    makeError: () => Error,
  ) {
    this.#inner = inner;
    this.#info = info;
    this.#method = opts.method;
    this.#path = opts.path;
    this.#ms = ms;
    this.#makeError = makeError;
  }

  isFor(method: string, path: string): boolean {
    return method === this.#method && path === this.#path;
  }

  onSocket(reused: boolean, http2: boolean): void {
    this.#info.connected = true;
    this.#info.reused = reused;
    this.#info.http2 = http2;
  }

  /** The request body has been handed to the socket: the server's turn starts. */
  bodySent(): void {
    this.#sent = true;
    if (this.#started) this.#arm();
  }

  #arm(): void {
    if (this.#ms === 0 || this.#over || this.#controller?.paused === true) return;
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
    if (this.#over || this.#timer !== undefined || this.#controller?.paused === true) return;
    this.#over = true;
    this.#controller?.abort(this.#makeError());
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #stop(): void {
    this.#over = true;
    this.#disarm();
  }

  /** The controller handed to the inner handler: its pause and resume stop and start the clock. */
  #wrap(controller: Dispatcher.DispatchController): Dispatcher.DispatchController {
    if (this.#ms === 0) return controller;
    if (this.#controller === controller && this.#proxy !== undefined) return this.#proxy;
    this.#controller = controller;
    const onPause = (): void => this.#disarm();
    const onResume = (): void => this.#arm();
    const proxy: Dispatcher.DispatchController = {
      get aborted() {
        return controller.aborted;
      },
      get paused() {
        return controller.paused;
      },
      get reason() {
        return controller.reason;
      },
      get rawHeaders() {
        return controller.rawHeaders ?? null;
      },
      get rawTrailers() {
        return controller.rawTrailers ?? null;
      },
      abort: (reason: Error) => controller.abort(reason),
      pause: () => {
        controller.pause();
        onPause();
      },
      resume: () => {
        controller.resume();
        onResume();
      },
    };
    this.#proxy = proxy;
    return proxy;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    starting = this;
    const proxy = this.#wrap(controller);
    this.#controller = controller;
    this.#started = true;
    if (this.#sent) this.#arm();
    this.#inner.onRequestStart?.(proxy, context);
  }

  onResponseStarted(): void {
    this.#info.responseStarted = true;
    this.#inner.onResponseStarted?.();
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.#stop();
    this.#inner.onRequestUpgrade?.(this.#wrap(controller), statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.#info.answered = true;
    const proxy = this.#wrap(controller);
    // An early answer (before the body is all sent) starts the clock too. An informational one
    // (103 Early Hints...) does not restart it: the final head is still awaited, and a server
    // sending 1xx heads forever would otherwise never time out.
    if (statusCode >= 200) this.#arm();
    this.#inner.onResponseStart?.(proxy, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const proxy = this.#wrap(controller);
    this.#arm();
    this.#inner.onResponseData?.(proxy, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.#stop();
    this.#inner.onResponseEnd?.(this.#wrap(controller), trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.#stop();
    this.#inner.onResponseError?.(this.#wrap(controller), error);
  }
}
