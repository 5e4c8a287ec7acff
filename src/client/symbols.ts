// Keys of the members the client's modules share but users do not see: symbols no entry point
// exports, on members marked `@internal` (left out of the published types).

/** @internal `BaseConnector`: sends one attempt, reporting on its connection. */
export const kSend: unique symbol = Symbol("send");
/** @internal `BaseConnector`: a free slot taken at once, or `null` when the caller must wait. */
export const kTryAcquire: unique symbol = Symbol("tryAcquire");
/** @internal `BaseConnector`: what a WebSocket needs to open a connection of its own. */
export const kWebSocketTransport: unique symbol = Symbol("webSocketTransport");
/** @internal `BaseConnector` subclasses: builds the undici dispatcher for a connect timeout. */
export const kCreateDispatcher: unique symbol = Symbol("createDispatcher");
/** @internal `BaseConnector`: undici Agent options shared by the subclasses. */
export const kAgentOptions: unique symbol = Symbol("agentOptions");
/** @internal `BaseConnector`: undici connect options (TLS, connect timeout). */
export const kConnectOptions: unique symbol = Symbol("connectOptions");
/** @internal `BaseConnector`: keeps a dispatcher made on the way, to close it with the pools. */
export const kAdopt: unique symbol = Symbol("adopt");
/** @internal `BaseConnector`: the TLS settings of a request or session with its own `ssl`. */
export const kTLSFor: unique symbol = Symbol("tlsFor");
/** @internal `BaseConnector` subclasses: builds the dispatcher for connections through a proxy. */
export const kCreateProxyAgent: unique symbol = Symbol("createProxyAgent");
/** @internal `BaseConnector` subclasses: the environment's proxies, when followed. */
export const kEnvProxies: unique symbol = Symbol("envProxies");
/** @internal `BaseConnector`: resolves a traced request's host through the DNS cache. */
export const kTraceResolve: unique symbol = Symbol("traceResolve");
/** @internal `BaseConnector` subclasses: the connector's DNS cache, if it keeps one. */
export const kDnsCache: unique symbol = Symbol("dnsCache");
/**
 * @internal `MiddlewareRequest`: the body's bytes as they go out, when they are in memory
 * (`DigestAuthMiddleware` hashes them for `qop=auth-int`).
 */
export const kEntityBody: unique symbol = Symbol("entityBody");
/** @internal `CookieJar`: whether it could hold a cookie for any URL (a cheap "no cookies"). */
export const kMayHoldCookies: unique symbol = Symbol("mayHoldCookies");
/**
 * @internal dispatch options of an attempt: its `AttemptInfo`, through which an HTTP/2 pool
 * (src/client/h2-pool.ts) tells the attempt which connection it went to.
 */
export const kAttemptInfo: unique symbol = Symbol("attemptInfo");
