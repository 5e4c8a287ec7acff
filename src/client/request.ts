// One `session.request()` call, from the first hop to the response handed back: its headers,
// body and credentials for each hop, the redirects it follows, the retry of a stale keep-alive
// connection, and the response limits.

import { STATUS_CODES } from "node:http";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { CIMultiDict } from "../http/multidict.js";
import { AttemptInfo } from "./attempt.js";
import type { BasicAuth } from "./auth.js";
import { NO_BODY, type PreparedBody, prepareBody } from "./body.js";
import { STALE_WARNING } from "./cache.js";
import type { ReleaseSlot } from "./connector.js";
import type { DnsDispatchOptions } from "./dns-cache.js";
import { badResponseHead } from "./error-mapping.js";
import {
  BodyReplayError,
  ClientConnectorDNSError,
  ClientConnectorError,
  ClientOptionError,
  ClientResponseError,
  ConnectionTimeoutError,
  RedirectBodyError,
  type RequestInfo,
  ServerDisconnectedError,
  TooManyRedirects,
} from "./errors.js";
import { type Answer, requestWithContinue } from "./expect-continue.js";
import {
  type HeaderParts,
  lowerSet,
  plainRequestHead,
  requestHead,
  requestHeaders,
  toHeaders,
} from "./headers.js";
import { undici } from "./lazy-deps.js";
import {
  type ClientMiddleware,
  compose,
  type MiddlewareRequest,
  toMiddlewares,
} from "./middleware.js";
import { netrcAuth } from "./netrc.js";
import { chooseProxy, type ProxySettings, proxyError } from "./proxy.js";
import { REDIRECT_STATUSES, redirectedMethod, resolveLocation } from "./redirect.js";
import { RequestControl } from "./request-control.js";
import { ClientResponse } from "./response.js";
import {
  kAttemptInfo,
  kEntityBody,
  kSend,
  kTLSFor,
  kTraceResolve,
  kTryAcquire,
  kWebSocketTransport,
} from "./symbols.js";
import { type ResolvedTimeout, resolveTimeout } from "./timeout.js";
import type { ResolvedTLS } from "./tls.js";
import { RequestTrace, tracedUpload } from "./tracing.js";
import type { RequestData, RequestOptions, SessionConfig } from "./types.js";
import { hostOf, requestTarget } from "./url.js";
import { checkWireOptions, compressEncoding, type WireBody, wireBody } from "./wire-body.js";

/** RFC 9110 9.2.2: methods a client may repeat, since the second time changes nothing more. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

const NO_HISTORY: readonly ClientResponse[] = Object.freeze([]);

/**
 * The headers of a request that has none of its own, shared: nothing adds to them (a redirect
 * to another origin only deletes credentials, of which it has none).
 */
const NO_HEADERS = new CIMultiDict();

/** One request with everything that changes from hop to hop. */
export class ClientRequest {
  readonly #session: SessionConfig;
  readonly #options: RequestOptions;
  readonly #realUrl: URL;
  readonly #extraHeaders: CIMultiDict;
  readonly #skip: ReadonlySet<string>;
  readonly #timeout: ResolvedTimeout;
  readonly #control: RequestControl;
  readonly #history: ClientResponse[] = [];
  #method: string;
  #url: URL;
  #auth: BasicAuth | undefined;
  #cookies: Readonly<Record<string, string>> | undefined;
  #body: PreparedBody;
  /** What `#body` is built from (a middleware's `updateBody` replaces it). */
  #data: RequestData | undefined;
  #json: unknown;
  readonly #middlewares: readonly ClientMiddleware[];
  /** Set once a redirect left the first origin: credentials stay behind from then on. */
  #leftOrigin = false;
  /** The request's or session's proxy; `undefined` leaves it to the connector (`trustEnv`). */
  readonly #proxy: ProxySettings | null | undefined;
  /** `null` when nobody traces: the request then pays nothing for tracing. */
  readonly #trace: RequestTrace | null;

  constructor(session: SessionConfig, method: string, url: string | URL, options: RequestOptions) {
    if (options.data !== undefined && options.json !== undefined) {
      throw new TypeError("data and json cannot be given together");
    }
    checkWireOptions(options);
    this.#session = session;
    this.#options = options;
    this.#method = method;
    const target = requestTarget(url, session.baseUrl, options.params, options.auth, session.auth);
    this.#url = target.target;
    this.#realUrl = target.realUrl;
    this.#auth = target.auth;
    this.#timeout = resolveTimeout(session.timeout, options.timeout);
    this.#skip =
      options.skipAutoHeaders === undefined
        ? session.skipAutoHeaders
        : lowerSet(options.skipAutoHeaders);
    this.#middlewares =
      options.middlewares === undefined ? session.middlewares : toMiddlewares(options.middlewares);
    this.#trace = RequestTrace.for(session.session, session.traceConfigs, options.traceRequestCtx);
    // Middlewares and trace callbacks get these headers and may change them: their own then.
    this.#extraHeaders =
      options.headers === undefined && this.#middlewares.length === 0 && this.#trace === null
        ? NO_HEADERS
        : toHeaders(options.headers);
    this.#cookies = options.cookies;
    this.#data = options.data;
    this.#json = options.json;
    this.#body = prepareBody(options.data, options.json, session.jsonSerialize);
    this.#proxy = chooseProxy(options, session.proxy);
    if (options.expect100 === true && this.#proxy != null) {
      // The 100-continue exchange opens a connection of its own, which would pass the proxy by.
      throw new TypeError("expect100 cannot be used with a proxy yet");
    }
    if (options.expect100 === true && session.connector.http2) {
      // The 100-continue exchange is written by hand over an HTTP/1.1 connection of its own,
      // which a server offering h2 only would refuse.
      throw new ClientOptionError(
        "expect100",
        "expect100 cannot be used with a connector that has http2: true (HTTP/2 streams need no 100-continue to be refused early: the server may reset the stream)",
      );
    }
    // A process's first request loads undici (70-660 ms on a busy machine): not time the
    // server took, so it happens before the total timeout starts.
    undici();
    // Last: it starts the total timeout, which nothing above may leave running on a throw.
    this.#control = new RequestControl(this.#timeout.total, method, this.#realUrl, options.signal);
  }

  /** Sends the request, following redirects; resolves with the final response. */
  send(): Promise<ClientResponse> {
    // Without middlewares, tracing or a netrc file to read (the common case), the exchange
    // delivers the response itself: one async step and one turn of the microtask queue less.
    if (this.#middlewares.length === 0 && this.#trace === null && !this.#wantsNetrc()) {
      return this.#exchange(true);
    }
    return this.#sendAll();
  }

  /** aiohttp: with trustEnv, a request without credentials takes the netrc file's. */
  #wantsNetrc(): boolean {
    return (
      this.#auth === undefined &&
      this.#session.trustEnv &&
      !this.#extraHeaders.has("Authorization") &&
      !this.#session.headers.has("Authorization")
    );
  }

  /**
   * Sends the request hop after hop through the middlewares, following redirects; `first` is a
   * response already received (a redirect, from an exchange that delivers).
   */
  async #sendAll(first?: ClientResponse): Promise<ClientResponse> {
    const allowRedirects = this.#options.allowRedirects ?? true;
    try {
      if (first === undefined && this.#wantsNetrc()) {
        this.#auth = await netrcAuth(hostOf(this.#url));
      }
      let received = first;
      for (;;) {
        const response = received ?? (await this.#hop());
        received = undefined;
        const location = this.#redirectTo(response, allowRedirects);
        if (location === undefined) {
          if (this.#trace !== null) await this.#traceEnd("onRequestEnd", response);
          const delivered = this.#deliver(response);
          return delivered instanceof Promise ? await delivered : delivered;
        }
        if (this.#trace !== null) await this.#traceEnd("onRequestRedirect", response);
        // A redirect: the body is not needed; the connection goes back to the pool.
        await response.release();
        this.#follow(response, location);
      }
    } catch (err) {
      this.#control.fail();
      if (this.#trace !== null) {
        await this.#trace.send("onRequestException", {
          method: this.#method,
          url: this.#url,
          headers: this.#extraHeaders,
          exception: err,
        });
      }
      throw err;
    }
  }

  /** Where `response` redirects to, when it does and redirects are followed. */
  #redirectTo(response: ClientResponse, allowRedirects: boolean): string | undefined {
    // Only a redirect needs the header multidict built here.
    if (!allowRedirects || !REDIRECT_STATUSES.has(response.status)) return undefined;
    return response.headers.get("Location");
  }

  async #traceEnd(
    signal: "onRequestEnd" | "onRequestRedirect",
    response: ClientResponse,
  ): Promise<void> {
    const { method, url, headers } = response.requestInfo;
    try {
      await this.#trace?.send(signal, { method, url, headers, response });
    } catch (err) {
      // The callback's error fails the request: nobody gets the response, its slot is freed.
      await response.release();
      throw err;
    }
  }

  /**
   * Hands the final response over, unless `raiseForStatus` refuses it; without a callback to
   * await (the common case) at once, not through a promise.
   */
  #deliver(response: ClientResponse): ClientResponse | Promise<ClientResponse> {
    this.#control.attach(response);
    const rule = this.#options.raiseForStatus ?? this.#session.raiseForStatus;
    if (typeof rule === "function") return this.#deliverChecked(response, rule);
    if (rule === true && !response.ok) {
      return this.#deliverChecked(response, (r) => r.raiseForStatus());
    }
    return response;
  }

  async #deliverChecked(
    response: ClientResponse,
    check: (response: ClientResponse) => void | Promise<void>,
  ): Promise<ClientResponse> {
    try {
      await check(response);
    } catch (err) {
      // Nobody gets the response: give its connection back rather than hold the slot.
      await response.release();
      throw err;
    }
    return response;
  }

  /** Sets up the next hop after a redirect `response` pointing to `location`. */
  #follow(response: ClientResponse, location: string): void {
    this.#history.push(response);
    const maxRedirects = this.#options.maxRedirects ?? 10;
    if (this.#history.length > maxRedirects) {
      throw new TooManyRedirects(response.requestInfo, {
        status: response.status,
        message: `Exceeded ${maxRedirects} redirects`,
        headers: response.headers,
        history: [...this.#history],
      });
    }
    const next = resolveLocation(location, this.#url, {
      requote: this.#session.requoteRedirectUrl,
      webSocket: false,
    });
    const { method, keepsBody } = redirectedMethod(response.status, this.#method);
    this.#method = method;
    if (!keepsBody) this.#body = NO_BODY;
    else if (this.#body.body !== null) {
      if (!this.#body.replayable) {
        throw new RedirectBodyError(
          `Cannot follow the ${response.status} redirect to ${next}: the request body was a stream that is already sent`,
        );
      }
      this.#body = prepareBody(this.#data, this.#json, this.#session.jsonSerialize);
    }
    if (next.origin !== this.#url.origin) {
      // Credentials and explicit cookies are for the origin they were given for, whether they
      // came with the request or with the session, as in aiohttp.
      this.#leftOrigin = true;
      this.#auth = undefined;
      this.#extraHeaders.delete("Authorization");
      this.#extraHeaders.delete("Cookie");
      this.#cookies = undefined;
    }
    this.#url = next;
  }

  /** One hop through the middlewares, if there are any. */
  #hop(): Promise<ClientResponse> {
    if (this.#middlewares.length === 0) return this.#exchange();
    let sent = false;
    const send = (): Promise<ClientResponse> => {
      if (sent && this.#body.body instanceof Readable) {
        // A middleware sends the hop again: a stream was read by the first exchange.
        if (!this.#body.replayable) {
          return Promise.reject(
            new BodyReplayError("Cannot send the request again: its body was a stream"),
          );
        }
        this.#body = prepareBody(this.#data, this.#json, this.#session.jsonSerialize);
      }
      sent = true;
      return this.#exchange();
    };
    return compose(this.#middlewares, send)(this.#middlewareView());
  }

  /** The public view of this request that middlewares get. */
  #middlewareView(): MiddlewareRequest {
    const self = this;
    return {
      method: this.#method,
      url: this.#url,
      headers: this.#extraHeaders,
      get signal() {
        return self.#abortSignal();
      },
      get body() {
        return self.#json === undefined ? self.#data : (self.#json as RequestData);
      },
      get bodyReplayable() {
        return self.#body.replayable;
      },
      updateBody(data) {
        self.#data = data;
        self.#json = undefined;
        self.#body = prepareBody(data, undefined, self.#session.jsonSerialize);
      },
      [kEntityBody]() {
        return self.#entityBody();
      },
    };
  }

  /** The body's bytes as sent, or `null` when they are not in memory (a stream, compressed). */
  #entityBody(): Uint8Array | null {
    if (compressEncoding(this.#options.compress) !== null) return null;
    const { body } = this.#body;
    if (body === null) return new Uint8Array(0);
    if (typeof body === "string") return Buffer.from(body);
    return body instanceof Uint8Array ? body : null;
  }

  #publicSignal: AbortSignal | undefined;

  /** The request's cancellation as an AbortSignal, for middlewares; made when first asked. */
  #abortSignal(): AbortSignal {
    if (this.#publicSignal === undefined) {
      const ac = new AbortController();
      const inner = this.#control.signal;
      if (inner.aborted) ac.abort(inner.reason);
      else inner.once("abort", () => ac.abort(inner.reason));
      this.#publicSignal = ac.signal;
    }
    return this.#publicSignal;
  }

  /**
   * One HTTP exchange (one hop). A request that went out on a reused keep-alive connection the
   * server had already closed never reached a handler; it is sent once more on a new
   * connection when its method may be repeated (RFC 9110 9.2.2). A failure on a new
   * connection, or after a byte of the answer, is the server's and is not retried: the handler
   * may have run. `final`: the request has no middlewares or tracing, and the exchange delivers
   * its response (or follows its redirects) itself, as `#sendAll` would.
   */
  async #exchange(final = false): Promise<ClientResponse> {
    try {
      const url = this.#url;
      const method = this.#method;
      const body = this.#body;
      const parts: HeaderParts = {
        url,
        extra: this.#extraHeaders,
        skip: this.#skip,
        auth: this.#auth,
        cookies: this.#cookies,
        contentType: body.body === null ? null : body.contentType,
        leftOrigin: this.#leftOrigin,
      };
      const options = this.#options;
      const trace = this.#trace;
      // A traced hop's headers are handed to its callbacks, which may change them: built anew.
      let sent = trace === null ? plainRequestHead(this.#session, parts, options) : null;
      if (sent === null) {
        const headers = requestHeaders(this.#session, parts);
        if (trace !== null) await trace.send("onRequestStart", { method, url, headers });
        sent = requestHead(headers, options, body);
      }
      const { flat, frame, declaredLength, knownLength } = sent;
      const requestInfo: RequestInfo = {
        url,
        method,
        headers: sent.headers,
        realUrl: this.#history.length === 0 ? this.#realUrl : url,
      };
      const control = this.#control;
      const connector = this.#session.connector;
      const tls = connector[kTLSFor](options.ssl ?? this.#session.ssl, options.serverHostname);
      // A getter that builds a new string each time it is read.
      const origin = url.origin;
      for (let attempt = 0; ; attempt++) {
        // Cancelled (or timed out) already: no connection is opened for nothing.
        if (control.signal.aborted) throw control.signal.reason;
        // Untraced, with a slot free (the common case), without waiting a turn for a promise.
        const release =
          (trace === null ? connector[kTryAcquire](origin) : null) ?? (await this.#acquire());
        const dns = trace === null ? undefined : await this.#traceDns(trace, release);
        const info = new AttemptInfo();
        let wire = wireBody(body, frame, options.onUploadProgress, declaredLength, knownLength);
        const head = trace === null ? null : new HeadTrace(trace, info, method, url, requestInfo);
        if (head !== null && wire.body instanceof Readable) {
          wire = { ...wire, body: head.upload(wire.body) };
        }
        const bodyFailure = watchBodyError(wire);
        const sentHeaders = withFraming(flat, wire);
        let data: Answer;
        try {
          data = await (options.expect100 === true
            ? this.#sendWithContinue(info, sentHeaders, wire, tls)
            : this.#sendOn(info, sentHeaders, wire, tls, origin, dns));
        } catch (err) {
          release();
          // Throws unless the attempt may be made again.
          await this.#failedAttempt(err, attempt, info, bodyFailure, requestInfo);
          continue;
        }
        if (head !== null) {
          try {
            await head.answered(wire.body);
          } catch (err) {
            // As a refused response head: nobody reads the body, its slot is free again.
            release();
            data.body.on("error", () => {});
            data.body.destroy();
            throw err;
          }
        }
        const response = this.#toResponse(
          data,
          release,
          requestInfo,
          !info.sent,
          info.revalidated,
          info.http2,
        );
        if (!final) return response;
        const location = this.#redirectTo(response, this.#options.allowRedirects ?? true);
        if (location !== undefined) return await this.#sendAll(response);
        const delivered = this.#deliver(response);
        return delivered instanceof Promise ? await delivered : delivered;
      }
    } catch (err) {
      // The request failed: its total timeout and listeners go (as in #sendAll).
      if (final) this.#control.fail();
      throw err;
    }
  }

  /** One attempt over undici, through the connector's pools (and the session's layers). */
  #sendOn(
    info: AttemptInfo,
    headers: readonly string[],
    wire: WireBody,
    tls: ResolvedTLS,
    origin: string,
    dns: DnsDispatchOptions | undefined,
  ): Promise<Answer> {
    const url = this.#url;
    const method = this.#method;
    const connector = this.#session.connector;
    const dispatch: Dispatcher.RequestOptions & {
      dns?: DnsDispatchOptions | undefined;
      [kAttemptInfo]: AttemptInfo;
    } = {
      origin,
      path: `${url.pathname}${url.search}`,
      method: method as Dispatcher.HttpMethod,
      // undici only reads them (a shared, frozen array for a plain hop).
      headers: headers as string[],
      body: wire.body,
      reset: connector.forceClose,
      // undici's own default over HTTP/1.1; over h2 what src/client/h2-pool.ts would
      // otherwise set on a copy of these options.
      idempotent: connector.http2 || method === "GET" || method === "HEAD",
      // Addresses a traced request resolved, for the connector's DNS interceptor.
      dns,
      // For an HTTP/2 pool to say which connection the request went to.
      [kAttemptInfo]: info,
    };
    // The connector gives up on it when the request's signal aborts, connected or not.
    return connector[kSend](
      dispatch,
      {
        // aiohttp: sockConnect bounds opening the socket, connect the wait for a slot and
        // the opening together.
        connectTimeout: smallestLimit(this.#timeout.sockConnect, this.#timeout.connect),
        readTimeout: this.#timeout.sockRead,
        proxy: this.#proxy,
      },
      info,
      { tls, pools: this.#session.tlsPools },
      this.#session.layers,
      this.#control.signal,
    );
  }

  /** One attempt with `expect100`, over a connection of its own (no agent). */
  #sendWithContinue(
    info: AttemptInfo,
    headers: readonly string[],
    wire: WireBody,
    tls: ResolvedTLS,
  ): Promise<Answer> {
    info.connected = true;
    return requestWithContinue({
      url: this.#url,
      method: this.#method,
      headers,
      body: wire.body,
      transport: this.#session.connector[kWebSocketTransport](tls),
      connectTimeout: smallestLimit(this.#timeout.sockConnect, this.#timeout.connect),
      readTimeout: this.#timeout.sockRead,
      signal: this.#control.signal,
    });
  }

  /**
   * What a failed attempt ends in: the error to throw, or (returning) one more attempt, for a
   * request whose connection was stale or whose HTTP/2 session was already gone.
   */
  async #failedAttempt(
    err: unknown,
    attempt: number,
    info: AttemptInfo,
    bodyFailure: { readonly error: unknown },
    requestInfo: RequestInfo,
  ): Promise<void> {
    // The caller's own stream failed (a file that cannot be read, a generator that threw):
    // its error says what happened, not a connection error.
    if (err === bodyFailure.error) throw err;
    const control = this.#control;
    const url = this.#url;
    const method = this.#method;
    const badHead = control.signal.aborted ? null : badResponseHead(err);
    if (badHead !== null) {
      throw new ClientResponseError(requestInfo, {
        status: 400,
        message: badHead,
        history: [...this.#history],
        cause: err,
      });
    }
    const mapped =
      (info.proxy === null || control.signal.aborted
        ? null
        : proxyError(err, info.proxy, requestInfo)) ??
      control.mapError(err, url, method, this.#session.connector.closed);
    const trace = this.#trace;
    // A connection was being opened for the request, and could not be.
    if (
      trace !== null &&
      ((mapped instanceof ClientConnectorError && !(mapped instanceof ClientConnectorDNSError)) ||
        mapped instanceof ConnectionTimeoutError)
    ) {
      await trace.send("onConnectionCreateStart", {});
    }
    const dead = deadSession(err);
    const body = this.#body;
    if (
      mapped instanceof ServerDisconnectedError &&
      attempt < (dead ? DEAD_SESSION_RETRIES : info.staleConnection ? 1 : 0) &&
      IDEMPOTENT.has(method) &&
      body.replayable &&
      // A stream (a multipart body of in-memory parts) was read by the failed attempt.
      !(body.body instanceof Readable)
    ) {
      // undici drops a session Node destroyed only once its connection has closed, a few
      // milliseconds later: sent at once, the retry would reach the same session.
      if (dead) await sleep(DEAD_SESSION_WAIT_MS * (attempt + 1));
      return;
    }
    throw mapped;
  }

  /** The DNS signals of a traced request, before it is dispatched; gives the addresses found. */
  async #traceDns(
    trace: RequestTrace,
    release: ReleaseSlot,
  ): Promise<DnsDispatchOptions | undefined> {
    if (!trace.wantsDns() || this.#options.expect100 === true) return undefined;
    try {
      return await this.#session.connector[kTraceResolve](this.#url, this.#proxy, trace);
    } catch (err) {
      release();
      throw err;
    }
  }

  async #acquire(): Promise<ReleaseSlot> {
    const connector = this.#session.connector;
    const trace = this.#trace;
    // All slots taken: the request waits in the connector's queue.
    if (trace !== null && connector.limit !== 0 && connector.active >= connector.limit) {
      await trace.send("onConnectionQueuedStart", {});
      const release = await this.#waitForSlot();
      await trace.send("onConnectionQueuedEnd", {}).catch((err: unknown) => {
        release();
        throw err;
      });
      return release;
    }
    return this.#waitForSlot();
  }

  async #waitForSlot(): Promise<ReleaseSlot> {
    const control = this.#control;
    try {
      return await this.#session.connector.acquire(
        this.#timeout.connect,
        control.signal,
        this.#url.href,
        this.#url.origin,
      );
    } catch (err) {
      throw control.mapError(err, this.#url, "");
    }
  }

  #toResponse(
    data: Answer,
    release: ReleaseSlot,
    requestInfo: RequestInfo,
    fromCache: boolean,
    revalidated: boolean,
    http2: boolean,
  ): ClientResponse {
    const problem = headerLimitProblem(data, this.#session);
    if (problem !== null) {
      // The response is refused before anyone sees it: its slot is free again. undici reports
      // the destroyed body as aborted; nobody reads it any more.
      release();
      data.body.on("error", () => {});
      data.body.destroy();
      throw new ClientResponseError(requestInfo, {
        status: 400,
        message: problem,
        history: [...this.#history],
      });
    }
    const session = this.#session;
    const method = this.#method;
    const url = this.#url;
    const setCookie = data.headers["set-cookie"];
    // A stored Set-Cookie was applied when the server sent it; replayed now (a cache hit, or
    // the stored head after a 304), it would undo what the jar learnt since.
    if (setCookie !== undefined && !fromCache && !revalidated) {
      session.jar.updateCookies(Array.isArray(setCookie) ? setCookie : [setCookie], url);
    }
    if (revalidated && data.headers.warning === STALE_WARNING) delete data.headers.warning;
    const noBody = method === "HEAD" || data.statusCode === 204 || data.statusCode === 304;
    // HTTP/2 frames every body (RFC 9113 8.1): there, none is read "until the server closes".
    const noLength =
      !http2 &&
      data.headers["content-length"] === undefined &&
      data.headers["transfer-encoding"] === undefined;
    const skipBody = noBody || (this.#options.readUntilEof === false && noLength);
    if (skipBody && !data.body.destroyed) data.body.resume();
    const control = this.#control;
    return new ClientResponse({
      method,
      url,
      requestInfo,
      status: data.statusCode,
      // RFC 9113 8.3.2: HTTP/2 carries no reason phrase.
      reason: http2 ? (STATUS_CODES[data.statusCode] ?? "") : (data.statusText ?? ""),
      http2,
      headers: data.headers,
      body: skipBody ? null : data.body,
      // Most responses come without redirects: one shared empty history for them.
      history: this.#history.length === 0 ? NO_HISTORY : [...this.#history],
      fromCache,
      autoDecompress: session.autoDecompress,
      onProgress: this.#options.onDownloadProgress,
      onChunk:
        this.#trace?.wants("onResponseChunkReceived") === true
          ? traceChunk(this.#trace, method, url)
          : undefined,
      maxDecompressedSize: session.maxDecompressedSize,
      readBufsize: session.readBufsize,
      onDone: (done) => {
        release();
        control.responseDone(done);
      },
    });
  }
}

/**
 * `flat` with the Content-Type of a body serialized here (unless the caller gave one) and the
 * length of a body of known length turned into a stream.
 */
function withFraming(flat: readonly string[], wire: WireBody): readonly string[] {
  if (wire.contentType === undefined && wire.contentLength === null) return flat;
  const out = [...flat];
  const hasType = flat.some((v, i) => i % 2 === 0 && v.toLowerCase() === "content-type");
  if (wire.contentType !== undefined && !hasType) out.push("Content-Type", wire.contentType);
  if (wire.contentLength !== null) out.push("Content-Length", String(wire.contentLength));
  return out;
}

/** What `watchBodyError` gives for a body that is not a stream: it cannot fail. */
const NO_BODY_FAILURE: { readonly error: unknown } = Object.freeze({ error: undefined });

/** Remembers the error a streamed body fails with, if it does. */
function watchBodyError(body: WireBody): { readonly error: unknown } {
  if (!(body.body instanceof Readable)) return NO_BODY_FAILURE;
  const seen: { error: unknown } = { error: undefined };
  body.body.once("error", (err: unknown) => {
    seen.error = err;
  });
  return seen;
}

/** Why a response head breaks the session's header limits, or `null` when it does not. */
function headerLimitProblem(data: Answer, session: SessionConfig): string | null {
  const { maxFieldSize, maxHeaders } = session;
  let count = 0;
  let problem: string | null = null;
  const headers = data.headers;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === "string") {
      count++;
      if (name.length + value.length + 2 > maxFieldSize) problem = tooLong(name, maxFieldSize);
      continue;
    }
    for (const v of value) {
      count++;
      if (name.length + v.length + 2 > maxFieldSize) problem = tooLong(name, maxFieldSize);
    }
  }
  if (count > maxHeaders) problem = `Too many headers: ${count} (at most ${maxHeaders})`;
  // undici puts no bound on the status line (it keeps the last piece its parser saw); aiohttp
  // refuses one over its line limit. What undici kept is at most what was sent.
  if ((data.statusText?.length ?? 0) > maxFieldSize) {
    problem = `Got more than ${maxFieldSize} bytes when reading the status line`;
  }
  return problem;
}

function tooLong(name: string, maxFieldSize: number): string {
  return `Got more than ${maxFieldSize} bytes when reading header ${name}`;
}

/** The stricter of two limits where 0 means none. */
export function smallestLimit(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

function traceChunk(
  trace: RequestTrace,
  method: string,
  url: URL,
): (chunk: Uint8Array) => Promise<void> {
  return (chunk) => trace.send("onResponseChunkReceived", { method, url, chunk });
}

/**
 * The signals of one attempt about the request's head and body: `onConnectionReuseconn` and
 * `onRequestHeadersSent` once the connection takes the body (or, for a body sent with the head,
 * once the answer came), then `onRequestChunkSent` for each chunk.
 */
class HeadTrace {
  readonly #trace: RequestTrace;
  readonly #info: AttemptInfo;
  readonly #method: string;
  readonly #url: URL;
  readonly #requestInfo: RequestInfo;
  #headSent = false;

  constructor(
    trace: RequestTrace,
    info: AttemptInfo,
    method: string,
    url: URL,
    requestInfo: RequestInfo,
  ) {
    this.#trace = trace;
    this.#info = info;
    this.#method = method;
    this.#url = url;
    this.#requestInfo = requestInfo;
  }

  upload(body: Readable): Readable {
    return tracedUpload(
      body,
      () => this.#head(),
      (chunk) => this.#chunk(chunk),
    );
  }

  /** The answer came: what was not traced while sending is traced now. */
  async answered(body: WireBody["body"]): Promise<void> {
    if (this.#headSent) return;
    await this.#head();
    if (body === null || body instanceof Readable) return;
    if (typeof body === "string") await this.#chunk(Buffer.from(body));
    else if (body instanceof Uint8Array) await this.#chunk(body);
  }

  async #head(): Promise<void> {
    this.#headSent = true;
    // undici pulls on a stream body (`read(0)`, for its length) just before it writes the head
    // and reports the socket, in the same synchronous step: after one turn the socket is known.
    await undefined;
    if (this.#info.reused) await this.#trace.send("onConnectionReuseconn", {});
    else if (this.#info.connected) {
      await this.#trace.send("onConnectionCreateStart", {});
      await this.#trace.send("onConnectionCreateEnd", {});
    }
    const { method, url, headers } = this.#requestInfo;
    await this.#trace.send("onRequestHeadersSent", { method, url, headers });
  }

  #chunk(chunk: Uint8Array): Promise<void> {
    return this.#trace.send("onRequestChunkSent", { method: this.#method, url: this.#url, chunk });
  }
}

/** Attempts of a request that meets a dead HTTP/2 session, and the step of their waits, ms. */
const DEAD_SESSION_RETRIES = 3;
const DEAD_SESSION_WAIT_MS = 10;

/**
 * The request was handed to an HTTP/2 session that had already been destroyed (Node 24 tells
 * undici later than Node 20): nothing of it was sent, so it may go again, as on a stale
 * keep-alive connection.
 */
function deadSession(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === "ERR_HTTP2_INVALID_SESSION";
}
