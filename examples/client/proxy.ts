// Proxies (aiohttp advanced client usage, "Proxy support"): requests through an HTTP proxy with
// its credentials in the proxy's URL or in `proxyAuth`, what a proxy that wants credentials and
// one that is down give, and `proxy: null` going direct. The proxy is the example's own.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/proxy.ts

import { createServer, request as forward, type IncomingMessage } from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer } from "node:net";
import {
  BasicAuth,
  ClientHttpProxyError,
  ClientProxyConnectionError,
  ClientSession,
} from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

// ---- A stand-in for a real forward proxy (tinyproxy, squid...), so that the example needs
// none: it wants user:pass, forwards absolute-form `http://` requests, tunnels CONNECT, and
// counts what it did. Not for real use: no hop-by-hop header handling, no limits, no ACLs.
const counts = { forwarded: 0, tunnelled: 0, refused: 0 };
const wanted = new BasicAuth("user", "pass").encode();
const authorized = (req: IncomingMessage): boolean => req.headers["proxy-authorization"] === wanted;
const challenge = 'Basic realm="example proxy"';

const proxy = createServer((req, res) => {
  if (!authorized(req)) {
    counts.refused++;
    res.writeHead(407, { "Proxy-Authenticate": challenge }).end();
    return;
  }
  // RFC 9112 3.2.2: a request to a proxy names its target in absolute form.
  if (!req.url?.startsWith("http://") || !URL.canParse(req.url)) {
    res.writeHead(400).end();
    return;
  }
  // The Proxy-* headers are for this hop only; RFC 9110 7.6.3: a proxy says it was there.
  const headers = Object.fromEntries(
    Object.entries(req.headers).filter(([name]) => !name.startsWith("proxy-")),
  );
  const upstream = forward(req.url, {
    method: req.method,
    headers: { ...headers, via: "1.1 example-proxy" },
  });
  upstream.on("response", (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
  req.pipe(upstream);
  counts.forwarded++;
});

// RFC 9110 9.3.6: CONNECT host:port opens a TCP connection to the target and, once it is up,
// relays bytes both ways. `https://` targets come this way, and so does every WebSocket
// handshake (`ws://` too: `wsConnect` always tunnels).
proxy.on("connect", (req, client, head) => {
  if (!authorized(req)) {
    counts.refused++;
    client.end(
      `HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: ${challenge}\r\n\r\n`,
    );
    return;
  }
  const { hostname, port } = new URL(`http://${req.url}`);
  let open = false;
  const target = connect(Number(port || 80), hostname, () => {
    open = true;
    counts.tunnelled++;
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    target.write(head);
    target.pipe(client).pipe(target);
  });
  // Once the tunnel is open, its bytes are the client's: a failure can only close it.
  target.on("error", () =>
    open ? client.destroy() : client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"),
  );
  client.on("error", () => target.destroy());
});

await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
const PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
const withCredentials = PROXY.replace("http://", "http://user:pass@");
// ---- End of the stand-in proxy.

/** The headers the server saw, as /get echoes them. */
interface Seen {
  headers: Record<string, string>;
}
const via = (seen: Seen): string => seen.headers.Via ?? "none";

// Credentials in the proxy's URL, for every request of the session.
{
  await using session = new ClientSession({ baseUrl: BASE_URL, proxy: withCredentials });
  await using resp = await session.get("/get");
  const seen = await resp.json<Seen>();
  console.log(`URL credentials: ${resp.status}, Via: ${via(seen)}`);
  console.log("Proxy-Authorization reached the server:", "Proxy-Authorization" in seen.headers);

  // A request's `proxy: null` goes direct, past the session's proxy (and the environment's).
  await using direct = await session.get("/get", { proxy: null });
  console.log(`proxy: null: ${direct.status}, Via: ${via(await direct.json<Seen>())}`);
}

await using session = new ClientSession({ baseUrl: BASE_URL });

// Credentials per request, with `proxyAuth`.
{
  await using resp = await session.get("/get", {
    proxy: PROXY,
    proxyAuth: new BasicAuth("user", "pass"),
  });
  console.log(`proxyAuth: ${resp.status}, Via: ${via(await resp.json<Seen>())}`);
}

// A WebSocket through the proxy: its handshake goes through a CONNECT tunnel.
{
  await using ws = await session.wsConnect("/ws", {
    proxy: PROXY,
    proxyAuth: new BasicAuth("user", "pass"),
  });
  await ws.sendStr("hello through the tunnel");
  console.log(`WebSocket via CONNECT: ${await ws.receiveStr()}`);
}

// No credentials: the proxy answers 407 Proxy Authentication Required.
try {
  await session.get("/get", { proxy: PROXY });
} catch (err) {
  if (!(err instanceof ClientHttpProxyError)) throw err;
  console.log(`no credentials: ${err.name} ${err.status}`);
}

// A proxy that is not listening: a port that was free a moment ago.
const free = createTcpServer();
await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
const downPort = (free.address() as AddressInfo).port;
await new Promise((resolve) => free.close(resolve));
try {
  await session.get("/get", { proxy: `http://127.0.0.1:${downPort}` });
} catch (err) {
  if (!(err instanceof ClientProxyConnectionError)) throw err;
  console.log(`proxy down: ${err.name} ${err.code}`);
}

await session.close();
await new Promise((resolve) => proxy.close(resolve));
console.log(
  `the proxy forwarded ${counts.forwarded} requests, tunnelled ${counts.tunnelled}, refused ${counts.refused}`,
);
