// The server half of aiohttp-ts, imported as `web` (`import { web } from "aiohttp-ts"`) or
// directly (`import * as web from "aiohttp-ts/web"`).

// The shared multipart reader, as request.multipart() hands it out.
export {
  BodyPartReader,
  MultipartError,
  MultipartLimitError,
  type MultipartPart,
  MultipartReader,
} from "../http/multipart/index.js";
export {
  AbstractAccessLogger,
  AccessLogger,
  type AccessLogSink,
  compileAccessLogFormat,
  DEFAULT_ACCESS_LOG_FORMAT,
} from "./access-log.js";
export {
  type AnyApplication,
  Application,
  type ApplicationOptions,
  type ApplicationOptionsWithRouter,
  type AppSignalHandler,
  type CleanupContext,
  FrozenAppError,
  type Logger,
  type Middleware,
  type NextHandler,
  type ResponsePrepareHandler,
  Signal,
} from "./application.js";
export {
  type EventOptions,
  EventSourceResponse,
  type EventSourceResponseOptions,
} from "./event-source-response.js";
export * from "./exceptions.js";
export { FileResponse, type FileResponseOptions } from "./file-response.js";
export { FileField, type FileFieldContent, type FileFieldInit } from "./form/file-field.js";
export type { FormLimits } from "./form/form-limits.js";
export type { FormValue } from "./form/form-parser.js";
export { type ForwardedElement, parseForwarded, type TrustProxy } from "./forwarded.js";
export type { Http2Mode } from "./http2.js";
export { AppKey, RequestKey, ResponseKey, StateKeyError } from "./keys.js";
export { type NormalizePathOptions, normalizePathMiddleware } from "./middlewares.js";
export {
  type CloneOptions,
  type ExtraInfoName,
  type HttpVersion,
  Request,
  type RequestMultipartOptions,
} from "./request.js";
export {
  ClientDisconnectedError,
  type ContentCoding,
  type CookieOptions,
  InvalidHeaderError,
  type JsonResponseOptions,
  jsonResponse,
  Response,
  type ResponseOptions,
  StreamResponse,
  type StreamResponseOptions,
} from "./response.js";
export { MatchInfo } from "./router/match-info.js";
export type { PathParamNames, PathParams } from "./router/path-params.js";
export {
  DomainResource,
  DynamicResource,
  PlainResource,
  PrefixedSubAppResource,
  Resource,
  type ResourceResolution,
  URLBuilder,
  type UrlForOptions,
} from "./router/resource.js";
export {
  defaultExpectHandler,
  type ExpectHandler,
  type Handler,
  type HandlerResult,
  Route,
  type RouteOptions,
} from "./router/route.js";
export {
  any,
  delete,
  get,
  head,
  options,
  patch,
  post,
  put,
  type RouteDef,
  RouteTableDef,
  route,
  static,
  view,
} from "./router/route-def.js";
export {
  type StaticOptions,
  StaticResource,
  type StaticUrlForOptions,
} from "./router/static-resource.js";
export {
  type AbstractRouter,
  FrozenRouterError,
  type GetRouteOptions,
  UrlDispatcher,
} from "./router/url-dispatcher.js";
export { View, type ViewClass } from "./router/view.js";
export { type RunAppOptions, runApp } from "./run-app.js";
export {
  AppRunner,
  type AppRunnerOptions,
  BaseSite,
  type SiteOptions,
  SockSite,
  TCPSite,
  type TCPSiteOptions,
  UnixSite,
} from "./runner.js";
export {
  exceptionResponse,
  type NodeServer,
  type ServerLimits,
  type ServerOptions,
  WebServer,
} from "./server.js";
export { STATUS_REASONS } from "./status.js";
export {
  type WebSocketReady,
  WebSocketResponse,
  type WebSocketResponseOptions,
} from "./websocket-response.js";
export { type WorkersOption, workerId } from "./workers.js";
