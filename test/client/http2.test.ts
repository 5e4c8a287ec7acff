// The client over HTTP/2 (`http2: true`) against a raw `node:http2` secure server in this
// process: ALPN negotiation, one connection carrying concurrent requests, `resp.version`, and
// the client's features (redirects, cookies, streaming both ways, decompression, sockRead,
// tracing) unchanged over h2. Other servers: test/interop/http2-client.test.ts.

import { once } from "node:events";
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from "node:http2";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientConnectorCertificateError,
  ClientOptionError,
  ClientSession,
  SocketTimeoutError,
  TCPConnector,
  TraceConfig,
  web,
} from "../../src/index.js";
import { makeTestClient } from "../../src/test-utils/index.js";
import { deferred, rejection, useSessions } from "../helpers.js";
import { hasPeer } from "../peers.js";
import { type TlsMaterial, tlsMaterial } from "../tls-material.js";

const withOpenssl = describe.skipIf(!hasPeer("openssl"));

let m: TlsMaterial;
let server: Http2SecureServer;
let base: string;
/** HTTP/2 connections (sessions) the server accepted. */
const sessions: ServerHttp2Session[] = [];
/** Each request's body once read, by path. */
const received = new Map<string, string>();
/** Requests to /flaky so far: the first gets a 503. */
let flakyHits = 0;
/** Requests that reached /cached. */
let cachedHits = 0;
/** Requests to /hold wait for this before answering. */
let release = deferred();

async function readAll(req: Http2ServerRequest): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

async function handle(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
  const url = new URL(req.url, "https://localhost");
  switch (url.pathname) {
    case "/echo": {
      const body = await readAll(req);
      received.set(url.pathname, body);
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          method: req.method,
          body,
          version: req.httpVersion,
          contentLength: req.headers["content-length"] ?? null,
          cookie: req.headers.cookie ?? null,
        }),
      );
      return;
    }
    case "/hold":
      await release.promise;
      res.end(url.search);
      return;
    case "/redirect":
      res.writeHead(302, { location: "/echo", "set-cookie": "flavour=oat; Path=/" });
      res.end();
      return;
    case "/gzip":
      res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" });
      res.end(gzipSync("unzipped over h2"));
      return;
    case "/stream":
      res.writeHead(200, { "content-type": "text/plain" });
      for (let i = 0; i < 3; i++) {
        res.write(`part ${i};`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
      return;
    case "/cached":
      cachedHits++;
      if (req.headers["if-none-match"] === '"c1"') {
        res.writeHead(304, { etag: '"c1"' });
        res.end();
        return;
      }
      res.writeHead(200, {
        etag: '"c1"',
        "cache-control": url.search === "?stale" ? "max-age=0" : "max-age=60",
      });
      res.end(`cached body ${cachedHits}`);
      return;
    case "/flaky":
      flakyHits++;
      res.writeHead(flakyHits === 1 ? 503 : 200);
      res.end(`attempt ${flakyHits}`);
      return;
    case "/bytes":
      // A BOM, text, and a byte that is not UTF-8: text() decodes, read() gives them as sent.
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end(Buffer.from([0xef, 0xbb, 0xbf, 0x68, 0x69, 0xff]));
      return;
    case "/stall":
      res.writeHead(200);
      res.write("first");
      // Says nothing more until the client gives up.
      return;
    default:
      res.writeHead(404);
      res.end("no such path");
  }
}

beforeAll(async () => {
  if (!hasPeer("openssl")) return;
  m = await tlsMaterial();
  server = createSecureServer({ ...m.server }, (req, res) => {
    handle(req, res).catch((err: unknown) => res.stream.destroy(err as Error));
  });
  server.on("session", (s: ServerHttp2Session) => sessions.push(s));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `https://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (!hasPeer("openssl")) return;
  for (const s of sessions) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  await m.remove();
});

const session = useSessions(() => ({ http2: true, ssl: { ca: m.ca } }));

withOpenssl("ClientSession({ http2: true }) against node:http2", () => {
  it("negotiates h2 and reports resp.version 2.0 with the status's reason phrase", async () => {
    await using resp = await session().get(`${base}/echo`);
    expect(resp.status).toBe(200);
    expect(resp.version).toEqual({ major: 2, minor: 0 });
    expect(resp.reason).toBe("OK");
    expect(await resp.json()).toMatchObject({ method: "GET", version: "2.0" });
  });

  it("text() then read() give the decoded text and the exact bytes of the body", async () => {
    await using resp = await session().get(`${base}/bytes`);
    expect(await resp.text()).toBe("hi\ufffd");
    expect([...(await resp.read())]).toEqual([0xef, 0xbb, 0xbf, 0x68, 0x69, 0xff]);
    expect(await resp.text()).toBe("hi\ufffd");
    expect(resp.closed).toBe(true);
  });

  it("concurrent requests to one origin share one connection as streams", async () => {
    const s = session();
    // Opens the connection first, so the count below is about multiplexing only.
    await (await s.get(`${base}/echo`)).read();
    const before = sessions.length;
    release = deferred();
    const pending = Array.from({ length: 8 }, (_, i) => s.get(`${base}/hold?${i}`));
    // All eight reach the server at once: none waits for another to finish.
    const all = Promise.all(pending);
    release.resolve();
    const responses = await all;
    const texts = await Promise.all(responses.map((r) => r.text()));
    expect(texts).toEqual(Array.from({ length: 8 }, (_, i) => `?${i}`));
    expect(sessions.length).toBe(before);
    expect(responses.every((r) => r.version.major === 2)).toBe(true);
  });

  it("a burst of requests on a fresh session opens a single connection", async () => {
    const s = session();
    const before = sessions.length;
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => s.get(`${base}/echo`).then((r) => r.json())),
    );
    expect(responses).toHaveLength(6);
    expect(sessions.length - before).toBe(1);
  });

  it("concurrent POSTs are streams of one connection too, not a connection each", async () => {
    const s = session();
    await (await s.get(`${base}/echo`)).read();
    const before = sessions.length;
    const bodies = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        s
          .post(`${base}/echo`, { data: `n${i}` })
          .then((r) => r.json() as Promise<{ body: string }>),
      ),
    );
    expect(bodies.map((b) => b.body)).toEqual(["n0", "n1", "n2", "n3", "n4"]);
    expect(sessions.length).toBe(before);
  });

  it("requests wait on the server while others stream: they are not queued behind them", async () => {
    const s = session();
    release = deferred();
    const held = s.get(`${base}/hold?held`);
    // Answered while /hold is still open on the same connection.
    const quick = await s.get(`${base}/echo`);
    expect(quick.status).toBe(200);
    await quick.read();
    release.resolve();
    expect(await (await held).text()).toBe("?held");
  });

  it("follows redirects and keeps the cookies a redirect set", async () => {
    await using resp = await session().get(`${base}/redirect`);
    expect(resp.history.map((r) => r.status)).toEqual([302]);
    expect(resp.history[0]?.version).toEqual({ major: 2, minor: 0 });
    expect(await resp.json()).toMatchObject({ cookie: "flavour=oat" });
  });

  it("POSTs a body with its length", async () => {
    await using resp = await session().post(`${base}/echo`, { data: "hello h2" });
    expect(await resp.json()).toMatchObject({
      method: "POST",
      body: "hello h2",
      contentLength: "8",
    });
  });

  it("streams an upload of unknown length as DATA frames (chunked: true too)", async () => {
    const s = session();
    const parts = Readable.from(["one,", "two,", "three"]);
    await using resp = await s.post(`${base}/echo`, { data: parts });
    expect(await resp.json()).toMatchObject({ body: "one,two,three", contentLength: null });
    await using chunked = await s.post(`${base}/echo`, { data: "abc", chunked: true });
    expect(await chunked.json()).toMatchObject({ body: "abc", contentLength: null });
  });

  it("reads a streamed response chunk by chunk", async () => {
    await using resp = await session().get(`${base}/stream`);
    const seen: string[] = [];
    for await (const chunk of resp.content.iterAny()) seen.push(chunk.toString());
    expect(seen.join("")).toBe("part 0;part 1;part 2;");
  });

  it("readUntilEof: false still reads a body without content-length: h2 frames it", async () => {
    await using resp = await session().get(`${base}/stream`, { readUntilEof: false });
    expect(await resp.text()).toBe("part 0;part 1;part 2;");
  });

  it("decompresses a gzip body", async () => {
    await using resp = await session().get(`${base}/gzip`);
    expect(await resp.text()).toBe("unzipped over h2");
  });

  it("sockRead fails a stream whose server falls silent, and only that stream", async () => {
    const s = session({ timeout: { sockRead: 200 } });
    const resp = await s.get(`${base}/stall`);
    const before = sessions.length;
    const err = await rejection(resp.read());
    expect(err).toBeInstanceOf(SocketTimeoutError);
    // The connection lives on: the next request is another stream of it.
    await using next = await s.get(`${base}/echo`);
    expect(next.status).toBe(200);
    expect(sessions.length).toBe(before);
  });

  it("tracing tells a new connection from a stream on an open one", async () => {
    const events: string[] = [];
    const trace = new TraceConfig();
    trace.onConnectionCreateStart.push(async () => {
      events.push("create");
    });
    trace.onConnectionReuseconn.push(async () => {
      events.push("reuse");
    });
    const s = session({ traceConfigs: [trace] });
    await (await s.get(`${base}/echo`)).read();
    await (await s.get(`${base}/echo`)).read();
    expect(events).toEqual(["create", "reuse"]);
  });

  it("middlewares and retries work as over HTTP/1.1", async () => {
    const seen: string[] = [];
    const s = session({
      retry: { baseDelay: 1 },
      middlewares: [
        async (req, handler) => {
          const resp = await handler(req);
          seen.push(`${resp.status} HTTP/${resp.version.major}`);
          return resp;
        },
      ],
    });
    await using resp = await s.get(`${base}/flaky`);
    expect(await resp.text()).toBe("attempt 2");
    expect(seen).toEqual(["200 HTTP/2"]);
  });

  it("new TCPConnector({ http2: true }) does the same for a session given it", async () => {
    await using connector = new TCPConnector({ http2: true, ssl: { ca: m.ca } });
    await using s = new ClientSession({ connector, connectorOwner: false });
    await using resp = await s.get(`${base}/echo`);
    expect(resp.version).toEqual({ major: 2, minor: 0 });
    expect(connector.http2).toBe(true);
  });

  it("an h2 connection idle for keepaliveTimeout is closed; the next request opens another", async () => {
    await using connector = new TCPConnector({
      http2: true,
      keepaliveTimeout: 100,
      ssl: { ca: m.ca },
    });
    await using s = new ClientSession({ connector, connectorOwner: false });
    await (await s.get(`${base}/echo`)).read();
    const first = sessions.at(-1);
    if (first === undefined) throw new Error("no session");
    await once(first, "close");
    const before = sessions.length;
    await using again = await s.get(`${base}/echo`);
    expect(again.version.major).toBe(2);
    expect(sessions.length).toBe(before + 1);
  });

  it.each([{ forceClose: true }, { keepaliveTimeout: 0 }])(
    "%o with http2 is refused: h2 connections are kept and shared",
    (options) => {
      expect(() => new TCPConnector({ http2: true, ...options })).toThrow(ClientOptionError);
    },
  );

  it("the cache answers fresh hits without a stream, and revalidates over h2 with a 304", async () => {
    const s = session({ cache: true });
    const before = cachedHits;
    for (const query of ["", "?stale"]) {
      await using first = await s.get(`${base}/cached${query}`);
      expect(await first.text()).toBe(`cached body ${cachedHits}`);
      expect(first.version).toEqual({ major: 2, minor: 0 });
    }
    await using fresh = await s.get(`${base}/cached`);
    expect(fresh.fromCache).toBe(true);
    expect(cachedHits).toBe(before + 2);
    await using revalidated = await s.get(`${base}/cached?stale`);
    expect(revalidated.fromCache).toBe(false);
    expect(revalidated.status).toBe(200);
    expect(await revalidated.text()).toBe(`cached body ${before + 2}`);
    // undici marks a revalidated answer stale (Warning: 110) though the 304 made it fresh.
    expect(revalidated.headers.get("Warning")).toBeUndefined();
    expect(cachedHits).toBe(before + 3);
  });

  it("a certificate that does not verify fails the request with its error, and the process goes on", async () => {
    // Regression: the h2 pool read the ALPN protocol of the socket a failed connection does not
    // have, and the TypeError went uncaught.
    const s = new ClientSession({ http2: true });
    try {
      const failures = await Promise.all([1, 2, 3].map(() => rejection(s.get(`${base}/echo`))));
      for (const err of failures) expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    } finally {
      await s.close();
    }
    await using resp = await session().get(`${base}/echo`);
    expect(resp.version).toEqual({ major: 2, minor: 0 });
  });

  it("http2 next to a connector of one's own is refused: it belongs on the connector", () => {
    const connector = new TCPConnector();
    expect(() => new ClientSession({ connector, http2: true })).toThrow(ClientOptionError);
    return connector.close();
  });

  it("expect100 with an http2 connector is refused with a clear error", async () => {
    const err = await rejection(session().post(`${base}/echo`, { data: "x", expect100: true }));
    expect(err).toBeInstanceOf(ClientOptionError);
    expect(err.message).toContain("http2");
  });
});

withOpenssl("http2: true against a server that speaks only HTTP/1.1", () => {
  let h1: HttpsServer;
  let h1Base: string;
  let connections = 0;
  beforeAll(async () => {
    h1 = createHttpsServer({ ...m.server }, (req, res) => {
      res.end(`${req.httpVersion} ${req.url}`);
    });
    h1.on("secureConnection", () => {
      connections++;
    });
    h1.listen(0, "127.0.0.1");
    await once(h1, "listening");
    h1Base = `https://localhost:${(h1.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    h1.closeAllConnections();
    await new Promise((resolve) => h1.close(resolve));
  });

  it("falls back to HTTP/1.1 by ALPN, one request per connection at a time", async () => {
    const s = session();
    const responses = await Promise.all([s.get(`${h1Base}/a`), s.get(`${h1Base}/b`)]);
    expect(await Promise.all(responses.map((r) => r.text()))).toEqual(["1.1 /a", "1.1 /b"]);
    expect(responses.map((r) => r.version)).toEqual([
      { major: 1, minor: 1 },
      { major: 1, minor: 1 },
    ]);
    // Not pipelined on one connection: each concurrent request got its own.
    expect(connections).toBe(2);
  });
});

describe("without http2", () => {
  it("resp.version is 1.1", async () => {
    const app = new web.Application();
    app.router.addGet("/", () => new web.Response({ text: "h1" }));
    await using client = await makeTestClient(app);
    await using resp = await client.get("/");
    expect(resp.version).toEqual({ major: 1, minor: 1 });
  });
});
