// Proxies: which one a URL goes through (the environment's HTTP_PROXY / HTTPS_PROXY and
// NO_PROXY, read one way for HTTP requests and WebSocket handshakes alike), and the CONNECT
// tunnel a WebSocket opens through one.

import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Dispatcher } from "undici";
import { BasicAuth } from "./auth.js";
import { ClientHttpProxyError, ClientProxyConnectionError, type RequestInfo } from "./errors.js";
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
  /** `*` in NO_PROXY: nothing goes through a proxy. */
  readonly noneProxied: boolean;
  readonly noProxy: readonly NoProxyEntry[];
}

/**
 * Reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY, lower-case names first as curl does. A proxy
 * value without a scheme is taken as `http://`; one that is no URL is ignored.
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
    noneProxied,
    noProxy,
  };
}

/** Whether the environment names any proxy. */
export function hasEnvProxy(proxies: EnvProxies): boolean {
  return proxies.http !== null || proxies.https !== null;
}

/** The proxy a request to `url` goes through, or `null` to go direct. */
export function proxyFor(url: URL, proxies: EnvProxies): URL | null {
  const proxy = url.protocol === "https:" || url.protocol === "wss:" ? proxies.https : proxies.http;
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

/**
 * An undici interceptor that sends each request through the proxy `proxyFor` picks for its
 * origin (`agentFor` makes or reuses the proxy's dispatcher), and the others on unchanged.
 */
export function proxyInterceptor(
  proxies: EnvProxies,
  agentFor: (proxy: URL) => Dispatcher,
): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const proxy = proxyFor(new URL(String(opts.origin)), proxies);
    return proxy === null ? dispatch(opts, handler) : agentFor(proxy).dispatch(opts, handler);
  };
}

/**
 * RFC 9110 9.3.6: opens a CONNECT tunnel through an HTTP proxy to `host:port`. Credentials come
 * from `auth`, else from the proxy URL. Resolves with the tunnel's socket.
 */
export function connectTunnel(
  proxy: URL,
  auth: BasicAuth | undefined,
  host: string,
  port: number,
  requestInfo: RequestInfo,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const proxyPort = portOf(proxy);
    const proxyHost = hostOf(proxy);
    const socket =
      proxy.protocol === "https:"
        ? tlsConnect({ host: proxyHost, port: proxyPort, servername: proxyHost })
        : netConnect({ host: proxyHost, port: proxyPort });
    const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const credentials = (auth ?? BasicAuth.fromUrl(proxy))?.encode();
    let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
    if (credentials !== undefined) head += `Proxy-Authorization: ${credentials}\r\n`;
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
