// The shapes the client's modules share: what callers pass for query parameters, headers and
// bodies, the options of one request, and the session settings a request reads.

import type { Readable } from "node:stream";
import type { FormData as AiohttpFormData } from "../http/form-data.js";
import type {
  CIMultiDict,
  CIMultiDictProxy,
  MultiDictInit,
  MultiDictProxy,
} from "../http/multidict.js";
import type { MultipartWriter } from "../http/multipart/writer.js";
import type { StreamReader } from "../http/stream-reader.js";
import type { BasicAuth } from "./auth.js";
import type { SessionLayers } from "./cache.js";
import type { BaseConnector } from "./connector.js";
import type { AbstractCookieJar } from "./cookie-jar.js";
import type { ClientMiddleware } from "./middleware.js";
import type { ProgressCallback } from "./progress.js";
import type { ProxyOptions } from "./proxy.js";
import type { ClientResponse } from "./response.js";
import type { ClientTimeout, ResolvedTimeout } from "./timeout.js";
import type { SSLSetting, TLSPools } from "./tls.js";
import type { TraceConfig } from "./tracing.js";

export type { HttpVersion } from "../http/version.js";

/** Query parameters in any of the shapes aiohttp accepts. */
export type Params =
  | Readonly<Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>>
  | Iterable<readonly [string, string | number | boolean]>
  | MultiDictProxy<string>
  | URLSearchParams
  | string;

/** Headers as an object, pairs, or a multidict. */
export type HeadersInit = MultiDictInit | CIMultiDict | CIMultiDictProxy | Headers;

/** A request body. */
export type RequestData =
  | string
  | Uint8Array
  | URLSearchParams
  | Readonly<Record<string, string | number | boolean>>
  | FormData
  | AiohttpFormData
  | MultipartWriter
  | Blob
  | Readable
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>
  | StreamReader;

/** `raiseForStatus`: `true` throws `ClientResponseError` for >= 400; a function decides itself. */
export type RaiseForStatus = boolean | ((response: ClientResponse) => void | Promise<void>);

/** Options of one request. */
export interface RequestOptions extends ProxyOptions {
  /** Added to the URL's own query. */
  params?: Params;
  /** The body; see `RequestData`. Not together with `json`. */
  data?: RequestData;
  /** A value sent as JSON (with the session's `jsonSerialize`). */
  json?: unknown;
  /** Headers of this request; they replace the session's headers of the same name. */
  headers?: HeadersInit;
  /** Default headers not to add (`User-Agent`, `Accept`, `Accept-Encoding`). */
  skipAutoHeaders?: Iterable<string>;
  /** Cookies sent with this request only; not stored in the jar. */
  cookies?: Readonly<Record<string, string>>;
  /** Basic credentials (instead of the session's); not together with credentials in the URL. */
  auth?: BasicAuth;
  /** Follow redirects. @default true (false for `head()`) */
  allowRedirects?: boolean;
  /** Redirects followed before `TooManyRedirects`. @default 10 */
  maxRedirects?: number;
  /** Overrides the session's timeouts field by field (milliseconds). */
  timeout?: ClientTimeout;
  /** Overrides the session's `raiseForStatus`. */
  raiseForStatus?: RaiseForStatus;
  /**
   * Client middlewares of this request, outermost first, instead of the session's (`[]`: none).
   * @default the session's
   */
  middlewares?: Iterable<ClientMiddleware>;
  /** Read a body without a length until the server closes. @default true */
  readUntilEof?: boolean;
  /** Cancels the request (and the body read). */
  signal?: AbortSignal;
  /**
   * Compresses the body on the fly and sets `Content-Encoding` (`true` is `"deflate"`, as in
   * aiohttp); the body goes chunked. Not together with a Content-Encoding or Content-Length
   * header. @default false
   */
  compress?: boolean | "deflate" | "gzip";
  /**
   * Sends the body with `Transfer-Encoding: chunked` even when its length is known. Not together
   * with a Content-Length header. (Streams of unknown length are always sent chunked.)
   * @default false
   */
  chunked?: boolean;
  /**
   * Sends `Expect: 100-continue` and the body only once the server answered `100 Continue`; a
   * final answer that comes first (401, 413, 417...) is the response, and the body is not sent.
   * Such a request goes over a connection of its own (node:http: undici cannot send Expect on
   * HTTP/1.1), closed after its response; the connector's limit, TLS settings and unix socket
   * apply, its `localAddr`, `family`, DNS cache and environment proxies do not. Like aiohttp,
   * it waits for the server's answer, within the timeouts (`sockRead` only until the head).
   * @default false
   */
  expect100?: boolean;
  /**
   * Called as the body is handed to the connection, `({ transferred, total })`: bytes so far
   * (compressed ones with `compress`) and all of them (`null` when not known: a stream without a
   * Content-Length header, or a compressed body). The last call has `transferred === total`
   * when `total` is known. A callback that throws fails the request with its error.
   * @default undefined (none)
   */
  onUploadProgress?: ProgressCallback;
  /**
   * Called as the response body is read, `({ transferred, total })`: bytes as they came over
   * the wire (before decompression, like got) and the Content-Length (`null` without one). A
   * callback that throws fails the read with its error. @default undefined (none)
   */
  onDownloadProgress?: ProgressCallback;
  /**
   * Handed to every trace callback of this request (in `traceConfigCtx.traceRequestCtx`) and
   * to diagnostics channel subscribers. @default undefined
   */
  traceRequestCtx?: unknown;
  /**
   * TLS settings of this request, replacing the session's and the connector's: `false` skips
   * certificate verification, `SSLOptions` (`ca`, `cert`, `key`...), a SecureContext, or a
   * `Fingerprint` pinning the certificate. A request with other settings than the connector's
   * goes over connections of their own (pooled by the session, closed with it).
   * @default the session's `ssl`, else the connector's (verify)
   */
  ssl?: SSLSetting;
  /**
   * The name sent in SNI and checked against the certificate, instead of the URL's host
   * (aiohttp's `server_hostname`). @default the URL's host
   */
  serverHostname?: string;
}

/**
 * A session's settings, resolved, as each of its requests reads them.
 * @internal
 */
export interface SessionConfig {
  readonly baseUrl: URL | undefined;
  readonly headers: CIMultiDict;
  readonly jar: AbstractCookieJar;
  readonly auth: BasicAuth | undefined;
  readonly timeout: ResolvedTimeout;
  readonly raiseForStatus: RaiseForStatus;
  readonly connector: BaseConnector;
  readonly jsonSerialize: (value: unknown) => string;
  readonly autoDecompress: boolean;
  readonly maxDecompressedSize: number;
  readonly readBufsize: number;
  readonly skipAutoHeaders: ReadonlySet<string>;
  readonly requoteRedirectUrl: boolean;
  readonly maxHeaders: number;
  readonly maxFieldSize: number;
  readonly trustEnv: boolean;
  /** The session's `ssl`, when it has one. */
  readonly ssl: SSLSetting | undefined;
  /** Pools for requests with TLS settings other than the connector's. */
  readonly tlsPools: TLSPools;
  /** The session's `proxy`, `proxyAuth` and `proxyHeaders`. */
  readonly proxy: ProxyOptions;
  /** The session's middlewares (`retry` last, innermost). */
  readonly middlewares: readonly ClientMiddleware[];
  /** The session's `traceConfigs`. */
  readonly traceConfigs: readonly TraceConfig[];
  /** What wraps the connector's pool for the session's requests (cache, dedupe). */
  readonly layers: SessionLayers | undefined;
  /** The session, handed to trace callbacks. */
  readonly session: unknown;
}
