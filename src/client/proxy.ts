// Proxies: which one a URL goes through (the `proxy` options of a request and its session,
// else the environment's HTTP_PROXY / HTTPS_PROXY / WS_PROXY / WSS_PROXY and NO_PROXY, read one
// way for HTTP requests and WebSocket handshakes alike), how a failure on the proxy's side is
// reported, and the CONNECT tunnel a WebSocket opens through one.

import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Dispatcher } from "undici";
import { BasicAuth } from "./auth.js";
import {
  ClientHttpProxyError,
  ClientProxyConnectionError,
  InvalidUrlClientError,
  type RequestInfo,
} from "./errors.js";
import { hostOf, portOf } from "./url.js";

/** One NO_PROXY entry: a host (and its subdomains), optionally on one port only. */
interface NoProxyEntry {
  readonly host: string;
  readonly port: string | undefined;
}

/** The proxies the environment names. */
export interface EnvProxies {
  readonly http: URL | null;
  readonly https: URL | null;
  /** WS_PROXY / WSS_PROXY: for WebSocket handshakes only, before HTTP_PROXY / HTTPS_PROXY. */
  readonly ws: URL | null;
  readonly wss: URL | null;
  /** `*` in NO_PROXY: nothing goes through a proxy. */
  readonly noneProxied: boolean;
  readonly noProxy: readonly NoProxyEntry[];
}

/**
 * Reads HTTP_PROXY, HTTPS_PROXY, WS_PROXY, WSS_PROXY and NO_PROXY, lower-case names first as
 * curl does. A proxy value without a scheme is taken as `http://`; one that is no URL is
 * ignored.
 */
export function readEnvProxies(env: NodeJS.ProcessEnv = process.env): EnvProxies {
  const noProxy: NoProxyEntry[] = [];
  let noneProxied = false;
  for (const raw of (env.no_proxy ?? env.NO_PROXY ?? "").split(/[\s,]+/)) {
    if (raw === "") continue;
    if (raw === "*") {
      noneProxied = true;
      continue;
    }
    // `.example.com` and `*.example.com` mean the same as `example.com`: it and its subdomains.
    noProxy.push(noProxyEntry(raw.toLowerCase().replace(/^\*?\./, "")));
  }
  return {
    http: proxyUrl(env.http_proxy ?? env.HTTP_PROXY),
    https: proxyUrl(env.https_proxy ?? env.HTTPS_PROXY),
    ws: proxyUrl(env.ws_proxy ?? env.WS_PROXY),
    wss: proxyUrl(env.wss_proxy ?? env.WSS_PROXY),
    noneProxied,
    noProxy,
  };
}

/** Whether the environment names a proxy for HTTP requests. */
export function hasEnvProxy(proxies: EnvProxies): boolean {
  return proxies.http !== null || proxies.https !== null;
}

/**
 * The proxy a request to `url` goes through, or `null` to go direct. A WebSocket handshake
 * (`websocket`, or a `ws:`/`wss:` URL) takes WS_PROXY / WSS_PROXY when set.
 */
export function proxyFor(url: URL, proxies: EnvProxies, websocket = false): URL | null {
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  const ws = websocket || url.protocol === "ws:" || url.protocol === "wss:";
  const forWs = ws ? (secure ? proxies.wss : proxies.ws) : null;
  const proxy = forWs ?? (secure ? proxies.https : proxies.http);
  if (proxy === null || proxies.noneProxied) return null;
  const host = hostOf(url).toLowerCase();
  const port = String(portOf(url));
  for (const entry of proxies.noProxy) {
    if (entry.port !== undefined && entry.port !== port) continue;
    if (host === entry.host || host.endsWith(`.${entry.host}`)) return null;
  }
  return proxy;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address (its colons are no port). */
function noProxyEntry(text: string): NoProxyEntry {
  const bracketed = /^\[(.*)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) return { host: bracketed[1] ?? "", port: bracketed[2] };
  const colon = text.indexOf(":");
  if (colon === -1 || colon !== text.lastIndexOf(":")) return { host: text, port: undefined };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

function proxyUrl(raw: string | undefined): URL | null {
  if (raw === undefined || raw === "") return null;
  try {
    return new URL(raw.includes("://") ? raw : `http://${raw}`);
  } catch {
    return null;
  }
}

/** The proxy options a session and a request take. */
export interface ProxyOptions {
  /**
   * Send requests through this proxy. An HTTP proxy (`http://user:pass@host:port`) gets
   * `http://` targets as absolute-form requests and `https://` ones through a CONNECT tunnel; a
   * `socks5://` / `socks5h://` proxy (not for WebSockets yet) resolves the target's name
   * itself. A request's `null` goes direct, past the session's proxy and the environment's. A
   * request's proxy wins over the session's. @default none (direct, or the environment's proxy
   * with `trustEnv: true`)
   */
  proxy?: string | URL | null | undefined;
  /** Credentials for the proxy, instead of the ones in its URL. @default the session's, else none */
  proxyAuth?: BasicAuth | undefined;
  /**
   * Headers sent to the proxy only (with a CONNECT, or on absolute-form requests); a request's
   * are added to the session's. @default none
   */
  proxyHeaders?: Readonly<Record<string, string>> | undefined;
}

/** A proxy a request goes through, resolved, with what the proxy is sent. */
export interface ProxySettings {
  readonly url: URL;
  readonly auth: BasicAuth | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/** Whether `url` names a SOCKS5 proxy (`socks5://`, `socks5h://`). */
export function isSocksProxy(url: URL): boolean {
  return url.protocol === "socks5:" || url.protocol === "socks5h:";
}

/** The port of a proxy URL: SOCKS's is 1080 unless given. */
function proxyPort(url: URL): number {
  return isSocksProxy(url) && url.port === "" ? 1080 : portOf(url);
}

/** A `proxy` option as a URL; `InvalidUrlClientError` when it is none. */
export function parseProxyUrl(value: string | URL): URL {
  try {
    const url = new URL(String(value));
    if (url.protocol !== "http:" && url.protocol !== "https:" && !isSocksProxy(url)) {
      throw new TypeError(`unsupported proxy scheme ${url.protocol}`);
    }
    return url;
  } catch (err) {
    throw new InvalidUrlClientError(String(value), "invalid proxy URL", { cause: err });
  }
}

/**
 * The proxy a request goes through: its own options win over the session's (a request's
 * `proxy: null` goes direct); `undefined` when neither names one, leaving the choice to the
 * environment (`trustEnv`).
 */
export function chooseProxy(
  request: ProxyOptions,
  session: ProxyOptions,
): ProxySettings | null | undefined {
  const proxy = request.proxy !== undefined ? request.proxy : session.proxy;
  if (proxy === null) return null;
  if (proxy === undefined) return undefined;
  return {
    url: parseProxyUrl(proxy),
    auth: request.proxyAuth ?? session.proxyAuth,
    headers: { ...session.proxyHeaders, ...request.proxyHeaders },
  };
}

/** An environment proxy (credentials in its URL only) as settings. */
export function envProxySettings(url: URL | null): ProxySettings | null {
  return url === null ? null : { url, auth: undefined, headers: {} };
}

/** What tells two proxy setups apart: requests through different ones never share a pool. */
export function proxyKey(settings: ProxySettings): string {
  return JSON.stringify([settings.url.href, settings.auth?.encode() ?? "", settings.headers]);
}

/**
 * An undici interceptor that sends each request through the proxy `proxyFor` picks for its
 * origin (`agentFor` makes or reuses the proxy's dispatcher), and the others on unchanged.
 */
export function proxyInterceptor(
  proxies: EnvProxies,
  agentFor: (proxy: ProxySettings) => Dispatcher,
): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const proxy = envProxySettings(proxyFor(new URL(String(opts.origin)), proxies));
    return proxy === null ? dispatch(opts, handler) : agentFor(proxy).dispatch(opts, handler);
  };
}

/**
 * The client error for a request that went through `proxy` and failed on the proxy's side: the
 * proxy could not be reached (`ClientProxyConnectionError`) or did not open the tunnel
 * (`ClientHttpProxyError` with its status). `null` for other failures.
 */
export function proxyError(err: unknown, proxy: URL, requestInfo: RequestInfo): Error | null {
  if (!(err instanceof Error)) return null;
  // undici's ProxyAgent says so only in its messages.
  const refused =
    /Proxy response \((\d{3})\) !== 200/.exec(err.message) ??
    /Proxy Authentication Required \((407)\)/.exec(err.message);
  if (refused !== null) {
    return new ClientHttpProxyError(requestInfo, {
      status: Number(refused[1]),
      message: err.message,
      cause: err,
    });
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  // A SOCKS5 proxy that refused the credentials or the connection (its reply code says why).
  if (e.code?.startsWith("UND_ERR_SOCKS5") || e.name === "Socks5ProxyError") {
    return new ClientProxyConnectionError(hostOf(proxy), proxyPort(proxy), false, err);
  }
  const code = e.code?.startsWith("UND_ERR") ? (e.cause?.code ?? "") : (e.code ?? "");
  // Through a proxy the client connects to the proxy alone: the target's own failures come
  // back as the proxy's answers.
  if (!REACH_CODES.has(code)) return null;
  return new ClientProxyConnectionError(
    hostOf(proxy),
    proxyPort(proxy),
    proxy.protocol === "https:",
    err,
  );
}

const REACH_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * RFC 9110 9.3.6: opens a CONNECT tunnel through an HTTP proxy to `host:port`, sending the
 * proxy's headers. Credentials come from its `auth`, else from its URL. Resolves with the
 * tunnel's socket.
 */
export function connectTunnel(
  settings: ProxySettings,
  host: string,
  port: number,
  requestInfo: RequestInfo,
): Promise<Socket> {
  const { url: proxy, auth } = settings;
  if (isSocksProxy(proxy)) {
    return Promise.reject(new TypeError("SOCKS proxies are not supported for WebSockets yet"));
  }
  const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const credentials = (auth ?? BasicAuth.fromUrl(proxy))?.encode();
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  for (const [name, value] of Object.entries(settings.headers)) {
    // A line break would let a header value write a request of its own.
    if (/[\r\n]/.test(name + value)) {
      return Promise.reject(new TypeError(`Invalid proxy header ${JSON.stringify(name)}`));
    }
    head += `${name}: ${value}\r\n`;
  }
  if (credentials !== undefined) head += `Proxy-Authorization: ${credentials}\r\n`;
  return new Promise((resolve, reject) => {
    const proxyPort = portOf(proxy);
    const proxyHost = hostOf(proxy);
    const socket =
      proxy.protocol === "https:"
        ? tlsConnect({ host: proxyHost, port: proxyPort, servername: proxyHost })
        : netConnect({ host: proxyHost, port: proxyPort });
    const onError = (err: Error): void => {
      socket.destroy();
      reject(new ClientProxyConnectionError(proxyHost, proxyPort, false, err));
    };
    socket.once("error", onError);
    socket.once(proxy.protocol === "https:" ? "secureConnect" : "connect", () => {
      socket.write(`${head}\r\n`);
    });
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) {
        if (buffered.length > 16 * 1024) onError(new Error("Proxy answer head too large"));
        return;
      }
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("end", onEnd);
      const statusLine = buffered.subarray(0, buffered.indexOf("\r\n")).toString("latin1");
      const status = Number(statusLine.split(" ")[1]);
      if (status !== 200) {
        socket.destroy();
        reject(new ClientHttpProxyError(requestInfo, { status, message: statusLine }));
        return;
      }
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    const onEnd = (): void => onError(new Error("Proxy closed the connection during CONNECT"));
    socket.on("data", onData);
    socket.once("end", onEnd);
  });
}
