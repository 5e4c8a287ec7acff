// Keys of the members that modules of the web layer share but users must not see: keyed by a
// `unique symbol` and marked `@internal`, they stay out of the published types (the build
// strips `@internal` declarations) and cannot clash with a user's own names.

// ---- Application ---------------------------------------------------------------------------

/** @internal Application: routes a request and runs middlewares and handler. */
export const kHandle: unique symbol = Symbol("handle");

// ---- Request -------------------------------------------------------------------------------

/** @internal Request: the server's shared context (limits, logger, open WebSockets...). */
export const kCtx: unique symbol = Symbol("ctx");
/** @internal Request: the connection of a WebSocket upgrade request, or `null`. */
export const kUpgrade: unique symbol = Symbol("upgrade");
/** @internal Request: whether an `Expect` header came with the request. */
export const kHasExpect: unique symbol = Symbol("hasExpect");
/** @internal Request: records the result of routing. */
export const kSetMatchInfo: unique symbol = Symbol("setMatchInfo");
/** @internal Request: sets `request.app` while an application's middlewares run. */
export const kSetCurrentApp: unique symbol = Symbol("setCurrentApp");
/** @internal Request: overrides the body size limit (makeMockedRequest's `clientMaxSize`). */
export const kSetClientMaxSize: unique symbol = Symbol("setClientMaxSize");

// ---- Responses -----------------------------------------------------------------------------

/** @internal StreamResponse: sets Content-Type without building the headers. */
export const kPresetContentType: unique symbol = Symbol("presetContentType");
/** @internal Response: the body and type of `jsonResponse(data)`, its hot path. */
export const kPresetJson: unique symbol = Symbol("presetJson");
/** @internal StreamResponse: sends the head. */
export const kWriteHead: unique symbol = Symbol("writeHead");
/** @internal StreamResponse: the Node response its head goes to (`null`: none needed). */
export const kHeadTarget: unique symbol = Symbol("headTarget");
/** @internal StreamResponse: writes the status line and headers to the connection. */
export const kSendHead: unique symbol = Symbol("sendHead");
/** @internal StreamResponse: the length of a body known whole when the head goes out. */
export const kWholeLength: unique symbol = Symbol("wholeLength");
/** @internal StreamResponse: sends the head and a whole body in one write. */
export const kSendWhole: unique symbol = Symbol("sendWhole");
/** @internal StreamResponse: finishes the response the handler returned. */
export const kFinish: unique symbol = Symbol("finish");
/** @internal StreamResponse: stops a response whose handler failed after prepare(). */
export const kCut: unique symbol = Symbol("cut");
/** @internal FileResponse: how a precompressed sibling that is a symlink is treated. */
export const kSiblingSymlinks: unique symbol = Symbol("siblingSymlinks");

// ---- Routing -------------------------------------------------------------------------------

/** @internal MatchInfo: a parent application claims the match. */
export const kAddApp: unique symbol = Symbol("addApp");
/** @internal Resource: told by its router when the resource's path changes. */
export const kOnPathChange: unique symbol = Symbol("onPathChange");
/** @internal Resource: the route lookup once the path matched. */
export const kResolveMethod: unique symbol = Symbol("resolveMethod");
/** @internal PlainResource: the router's lookup for a path it found by its text. */
export const kResolvePlain: unique symbol = Symbol("resolvePlain");
/** @internal View: calls the method named like the request's verb. */
export const kDispatch: unique symbol = Symbol("dispatch");

// ---- Running -------------------------------------------------------------------------------

/** @internal AppRunner: a site registers itself when it starts. */
export const kAddSite: unique symbol = Symbol("addSite");
/** @internal BaseSite: binds the node:http server to the site's socket. */
export const kListen: unique symbol = Symbol("listen");
/** @internal BaseSite: `http` or `https`, for the site's name. */
export const kScheme: unique symbol = Symbol("scheme");

// ---- HTTP/2 --------------------------------------------------------------------------------

/**
 * @internal H2IncomingRequest: the request has a body of unknown length (HTTP/2 needs neither
 * Content-Length nor chunked: RFC 9113 8.1, the body is what comes before END_STREAM).
 */
export const kStreamedBody: unique symbol = Symbol("streamedBody");
/** @internal H2IncomingRequest: the readable its body comes from (an IncomingMessage is its own). */
export const kBodyStream: unique symbol = Symbol("bodyStream");
/** @internal H2IncomingRequest: node:http2's field list, pseudo-headers first. */
export const kAllFields: unique symbol = Symbol("allFields");
/** @internal H2IncomingRequest: where the fields that are not pseudo-headers start. */
export const kFirstField: unique symbol = Symbol("firstField");
/** @internal H2IncomingRequest: the `:authority` pseudo-header. */
export const kAuthority: unique symbol = Symbol("authority");
/** @internal H2IncomingRequest: the peer's address, read once for its session. */
export const kPeer: unique symbol = Symbol("peer");
/**
 * @internal H2ServerResponse: sends a head of only Content-Type, Content-Length and Server
 * (a response whose headers nobody touched), without the flat list writeHead takes.
 */
export const kRespondPlain: unique symbol = Symbol("respondPlain");
/**
 * @internal H2ServerResponse: calls `callback(request, response, started)` once the stream
 * closes, with no closure made per response.
 */
export const kWhenClosed: unique symbol = Symbol("whenClosed");
