// aiohttp-ts: asynchronous HTTP client, server and WebSockets for TypeScript on Node.js.
// The server lives in the `web` namespace, as in aiohttp.

export { type ContentType, isJsonType, parseContentType } from "./http/content-type.js";
export {
  CIMultiDict,
  CIMultiDictProxy,
  MultiDict,
  type MultiDictInit,
  MultiDictKeyError,
  MultiDictProxy,
} from "./http/multidict.js";
export * from "./http/stream-reader.js";
export { VERSION } from "./version.js";
export * as web from "./web/index.js";
