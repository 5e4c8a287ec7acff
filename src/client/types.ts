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
import type { BaseConnector } from "./connector.js";
import type { AbstractCookieJar } from "./cookie-jar.js";
import type { ClientResponse } from "./response.js";
import type { ClientTimeout, ResolvedTimeout } from "./timeout.js";

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
export interface RequestOptions {
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
  /** Read a body without a length until the server closes. @default true */
  readUntilEof?: boolean;
  /** Cancels the request (and the body read). */
  signal?: AbortSignal;
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
}
