// aiohttp's request tracing: a `TraceConfig` holds lists of async callbacks, one list per
// signal; a session with `traceConfigs` awaits them, in order, at each step of a request. The
// same events go out on `node:diagnostics_channel` (channel `aiohttp-ts:client:<signal>`) so
// tools can watch a process without changing its code.

import { channel } from "node:diagnostics_channel";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { CIMultiDict, CIMultiDictProxy } from "../http/multidict.js";
import type { ClientResponse } from "./response.js";

/** `onRequestStart`: the request is about to go out (before any connection is taken). */
export interface TraceRequestStartParams {
  readonly method: string;
  readonly url: URL;
  readonly headers: CIMultiDict;
}
/** `onRequestHeadersSent`: the head of the request went to the socket. */
export interface TraceRequestHeadersSentParams {
  readonly method: string;
  readonly url: URL;
  readonly headers: CIMultiDictProxy;
}
/** `onRequestChunkSent`: a chunk of the request body was taken by the connection. */
export interface TraceRequestChunkSentParams {
  readonly method: string;
  readonly url: URL;
  readonly chunk: Uint8Array;
}
/** `onResponseChunkReceived`: a chunk of the response body was read. */
export interface TraceResponseChunkReceivedParams {
  readonly method: string;
  readonly url: URL;
  readonly chunk: Uint8Array;
}
/** `onRequestEnd`: the final response's head arrived. */
export interface TraceRequestEndParams {
  readonly method: string;
  readonly url: URL;
  readonly headers: CIMultiDictProxy;
  readonly response: ClientResponse;
}
/** `onRequestException`: the request failed with `exception`. */
export interface TraceRequestExceptionParams {
  readonly method: string;
  readonly url: URL;
  readonly headers: CIMultiDictProxy | CIMultiDict;
  readonly exception: unknown;
}
/** `onRequestRedirect`: a redirect `response` arrived and will be followed. */
export interface TraceRequestRedirectParams {
  readonly method: string;
  readonly url: URL;
  readonly headers: CIMultiDictProxy;
  readonly response: ClientResponse;
}
/** `onConnectionReuseconn`: the request goes out on a connection that carried one before. */
export type TraceConnectionReuseconnParams = Readonly<Record<string, never>>;
/**
 * `onConnectionQueuedStart`/`End`: the connector's `limit` was reached, the request waits for
 * a slot (waits under `limitPerHost` happen inside undici and are not seen).
 */
export type TraceConnectionQueuedParams = Readonly<Record<string, never>>;

/**
 * `onConnectionCreateStart`/`End`: the request went out on a connection opened for it (traced
 * once the request is on it, just before `onRequestHeadersSent`). A connection that could not
 * be opened gives `onConnectionCreateStart` alone, then `onRequestException`.
 */
export type TraceConnectionCreateParams = Readonly<Record<string, never>>;
/**
 * `onDnsCacheHit`/`Miss`, `onDnsResolvehostStart`/`End`: the connector's DNS cache had `host`,
 * or did not and resolved it (awaited around the real lookup). Not for IP addresses, proxied
 * requests, or a connector with `useDnsCache: false`.
 */
export interface TraceDnsParams {
  readonly host: string;
}

/** The parameters of each signal, by signal name. */
export interface TraceParams {
  onRequestStart: TraceRequestStartParams;
  onRequestHeadersSent: TraceRequestHeadersSentParams;
  onRequestChunkSent: TraceRequestChunkSentParams;
  onResponseChunkReceived: TraceResponseChunkReceivedParams;
  onRequestEnd: TraceRequestEndParams;
  onRequestException: TraceRequestExceptionParams;
  onRequestRedirect: TraceRequestRedirectParams;
  onConnectionReuseconn: TraceConnectionReuseconnParams;
  onConnectionQueuedStart: TraceConnectionQueuedParams;
  onConnectionQueuedEnd: TraceConnectionQueuedParams;
  onConnectionCreateStart: TraceConnectionCreateParams;
  onConnectionCreateEnd: TraceConnectionCreateParams;
  onDnsResolvehostStart: TraceDnsParams;
  onDnsResolvehostEnd: TraceDnsParams;
  onDnsCacheHit: TraceDnsParams;
  onDnsCacheMiss: TraceDnsParams;
}

/** A signal's name. */
export type TraceSignal = keyof TraceParams;

/** A trace callback: `(session, traceConfigCtx, params)`, as aiohttp's. */
export type TraceCallback<P> = (
  session: unknown,
  traceConfigCtx: TraceConfigCtx,
  params: P,
) => void | Promise<void>;

/** What every callback of one request gets as its second argument. */
export interface TraceConfigCtx {
  /** The request's `traceRequestCtx` option (`undefined` when not given). */
  readonly traceRequestCtx: unknown;
  /** Free for the callbacks of one config to share state within one request. */
  [key: string]: unknown;
}

/**
 * Lists of async callbacks, one per signal: `trace.onRequestStart.push(fn)`. Give configs to a
 * session with `traceConfigs`. Callbacks are awaited one after the other; one that throws fails
 * the request with its error.
 */
export class TraceConfig {
  readonly onRequestStart: TraceCallback<TraceRequestStartParams>[] = [];
  readonly onRequestHeadersSent: TraceCallback<TraceRequestHeadersSentParams>[] = [];
  readonly onRequestChunkSent: TraceCallback<TraceRequestChunkSentParams>[] = [];
  readonly onResponseChunkReceived: TraceCallback<TraceResponseChunkReceivedParams>[] = [];
  readonly onRequestEnd: TraceCallback<TraceRequestEndParams>[] = [];
  readonly onRequestException: TraceCallback<TraceRequestExceptionParams>[] = [];
  readonly onRequestRedirect: TraceCallback<TraceRequestRedirectParams>[] = [];
  readonly onConnectionReuseconn: TraceCallback<TraceConnectionReuseconnParams>[] = [];
  readonly onConnectionQueuedStart: TraceCallback<TraceConnectionQueuedParams>[] = [];
  readonly onConnectionQueuedEnd: TraceCallback<TraceConnectionQueuedParams>[] = [];
  readonly onConnectionCreateStart: TraceCallback<TraceConnectionCreateParams>[] = [];
  readonly onConnectionCreateEnd: TraceCallback<TraceConnectionCreateParams>[] = [];
  readonly onDnsResolvehostStart: TraceCallback<TraceDnsParams>[] = [];
  readonly onDnsResolvehostEnd: TraceCallback<TraceDnsParams>[] = [];
  readonly onDnsCacheHit: TraceCallback<TraceDnsParams>[] = [];
  readonly onDnsCacheMiss: TraceCallback<TraceDnsParams>[] = [];
  readonly #ctxFactory: (traceRequestCtx: unknown) => TraceConfigCtx;

  /** `traceConfigCtxFactory` makes the per-request context (default: `{ traceRequestCtx }`). */
  constructor(
    traceConfigCtxFactory: (traceRequestCtx: unknown) => TraceConfigCtx = (traceRequestCtx) => ({
      traceRequestCtx,
    }),
  ) {
    this.#ctxFactory = traceConfigCtxFactory;
  }

  /** A new context for one request. */
  traceConfigCtx(traceRequestCtx: unknown): TraceConfigCtx {
    return this.#ctxFactory(traceRequestCtx);
  }
}

const SIGNALS: readonly TraceSignal[] = [
  "onRequestStart",
  "onRequestHeadersSent",
  "onRequestChunkSent",
  "onResponseChunkReceived",
  "onRequestEnd",
  "onRequestException",
  "onRequestRedirect",
  "onConnectionReuseconn",
  "onConnectionQueuedStart",
  "onConnectionQueuedEnd",
  "onConnectionCreateStart",
  "onConnectionCreateEnd",
  "onDnsResolvehostStart",
  "onDnsResolvehostEnd",
  "onDnsCacheHit",
  "onDnsCacheMiss",
];

/** `onRequestStart` -> `aiohttp-ts:client:request:start`. */
function channelName(signal: TraceSignal): string {
  const words = signal
    .slice(2)
    .replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)
    .trim()
    .split(" ");
  return `aiohttp-ts:client:${words.join(":")}`;
}

/** The diagnostics channel of each signal; messages are `{ traceRequestCtx, ...params }`. */
export const TRACE_CHANNELS: Readonly<Record<TraceSignal, string>> = Object.fromEntries(
  SIGNALS.map((s) => [s, channelName(s)]),
) as Record<TraceSignal, string>;

const channels = Object.fromEntries(SIGNALS.map((s) => [s, channel(channelName(s))])) as Record<
  TraceSignal,
  ReturnType<typeof channel>
>;

/** The same channels in a list: `anySubscriber` runs for every request. */
const channelList = Object.values(channels);

function anySubscriber(): boolean {
  for (const c of channelList) if (c.hasSubscribers) return true;
  return false;
}

/**
 * The tracing of one request: its configs with their contexts.
 * @internal
 */
export class RequestTrace {
  readonly #session: unknown;
  readonly #configs: readonly TraceConfig[];
  readonly #ctxs: TraceConfigCtx[];
  readonly #traceRequestCtx: unknown;

  constructor(session: unknown, configs: readonly TraceConfig[], traceRequestCtx: unknown) {
    this.#session = session;
    this.#configs = configs;
    this.#ctxs = configs.map((c) => c.traceConfigCtx(traceRequestCtx));
    this.#traceRequestCtx = traceRequestCtx;
  }

  /**
   * The trace of a request, or `null` (nothing allocated) when the session has no configs and
   * nobody listens on the channels.
   */
  static for(
    session: unknown,
    configs: readonly TraceConfig[],
    traceRequestCtx: unknown,
  ): RequestTrace | null {
    if (configs.length === 0 && !anySubscriber()) return null;
    return new RequestTrace(session, configs, traceRequestCtx);
  }

  /** Whether anyone listens for `signal` (spares building its parameters). */
  wants(signal: TraceSignal): boolean {
    if (channels[signal].hasSubscribers) return true;
    for (const c of this.#configs) if (c[signal].length > 0) return true;
    return false;
  }

  /** Whether anyone listens for one of the DNS signals. */
  wantsDns(): boolean {
    return (
      this.wants("onDnsCacheHit") ||
      this.wants("onDnsCacheMiss") ||
      this.wants("onDnsResolvehostStart") ||
      this.wants("onDnsResolvehostEnd")
    );
  }

  async send<S extends TraceSignal>(signal: S, params: TraceParams[S]): Promise<void> {
    const ch = channels[signal];
    if (ch.hasSubscribers) ch.publish({ traceRequestCtx: this.#traceRequestCtx, ...params });
    for (let i = 0; i < this.#configs.length; i++) {
      const callbacks = (this.#configs[i] as TraceConfig)[signal] as TraceCallback<
        TraceParams[S]
      >[];
      for (const fn of callbacks) await fn(this.#session, this.#ctxs[i] as TraceConfigCtx, params);
    }
  }
}

/**
 * `source` as a stream that traces each chunk once its reader has taken it (as
 * `countedUpload`), after tracing the head once the connection starts taking the body.
 * @internal
 */
export function tracedUpload(
  source: AsyncIterable<Uint8Array>,
  onHead: () => Promise<void>,
  onChunk: (chunk: Uint8Array) => Promise<void>,
): Readable {
  async function* traced(): AsyncGenerator<Uint8Array> {
    await onHead();
    for await (const chunk of source) {
      yield chunk;
      await onChunk(chunk);
    }
  }
  return Readable.from(traced(), { objectMode: true, highWaterMark: 1 });
}

/**
 * Awaits `onChunk` for each chunk before passing it on (for downloads).
 * @internal
 */
export class ChunkTracer extends Transform {
  readonly #onChunk: (chunk: Uint8Array) => Promise<void>;
  /** The error a callback threw, if one did. */
  thrown: unknown;

  constructor(onChunk: (chunk: Uint8Array) => Promise<void>) {
    super();
    this.#onChunk = onChunk;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#onChunk(chunk).then(
      () => callback(null, chunk),
      (err: unknown) => {
        this.thrown = err;
        callback(err as Error);
      },
    );
  }
}
