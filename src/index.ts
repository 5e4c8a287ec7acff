// aiohttp-ts: asynchronous HTTP client, server and WebSockets for TypeScript on Node.js.
// The server lives in the `web` namespace, as in aiohttp.

export { BasicAuth } from "./client/auth.js";
export type { CacheMethod, CacheOptions, CacheStore } from "./client/cache.js";
export {
  BaseConnector,
  type BaseConnectorOptions,
  TCPConnector,
  type TCPConnectorOptions,
  UnixConnector,
  type UnixConnectorOptions,
} from "./client/connector.js";
export {
  type AbstractCookieJar,
  CookieJar,
  type CookieJarOptions,
  type CookiesInit,
  DummyCookieJar,
} from "./client/cookie-jar.js";
export { DigestAuthMiddleware, type DigestAuthOptions } from "./client/digest-auth.js";
export * from "./client/errors.js";
export type {
  ClientHandler,
  ClientMiddleware,
  ClientMiddlewareFunction,
  ClientMiddlewareObject,
  ClientRequest,
  MiddlewareRequest,
} from "./client/middleware.js";
export type { Progress, ProgressCallback } from "./client/progress.js";
export { ClientResponse, type JsonOptions, type Link } from "./client/response.js";
export { RetryMiddleware, type RetryOptions } from "./client/retry.js";
export { ClientSession, type ClientSessionOptions } from "./client/session.js";
export type { ClientTimeout, ResolvedTimeout } from "./client/timeout.js";
export { Fingerprint, type SSLOptions, type SSLSetting } from "./client/tls.js";
export {
  TRACE_CHANNELS,
  type TraceCallback,
  TraceConfig,
  type TraceConfigCtx,
  type TraceConnectionCreateParams,
  type TraceConnectionQueuedParams,
  type TraceConnectionReuseconnParams,
  type TraceDnsParams,
  type TraceParams,
  type TraceRequestChunkSentParams,
  type TraceRequestEndParams,
  type TraceRequestExceptionParams,
  type TraceRequestHeadersSentParams,
  type TraceRequestRedirectParams,
  type TraceRequestStartParams,
  type TraceResponseChunkReceivedParams,
  type TraceSignal,
} from "./client/tracing.js";
export type {
  HeadersInit,
  HttpVersion,
  Params,
  RaiseForStatus,
  RequestData,
  RequestOptions,
} from "./client/types.js";
export {
  ClientWebSocketResponse,
  type ClientWSTimeout,
  type WSConnectOptions,
} from "./client/websocket.js";
export { type ContentType, isJsonType, parseContentType } from "./http/content-type.js";
export {
  type FieldOptions,
  type FieldsInit,
  type FieldValue,
  FormData,
} from "./http/form-data.js";
export {
  CIMultiDict,
  CIMultiDictProxy,
  MultiDict,
  type MultiDictInit,
  MultiDictKeyError,
  MultiDictProxy,
} from "./http/multidict.js";
export * from "./http/multipart/index.js";
export * from "./http/stream-reader.js";
export {
  ConcurrentReceiveError,
  WebSocketChannel,
  type WebSocketChannelApi,
  WebSocketClosedError,
  WebSocketError,
  type WebSocketOptions,
  WebSocketTimeoutError,
  type WebSocketTimeoutKind,
  type WSCloseOptions,
  type WSFrameOptions,
  type WSSendOptions,
} from "./http/websocket.js";
export {
  typeName as wsMsgTypeName,
  type WSBinaryMessage,
  WSCloseCode,
  type WSCloseMessage,
  type WSControlMessage,
  type WSErrorMessage,
  type WSMessage,
  WSMessageTypeError,
  WSMsgType,
  type WSStateMessage,
  type WSTextMessage,
  wsMessage,
} from "./http/ws-message.js";
export { VERSION } from "./version.js";
export * as web from "./web/index.js";
