import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  CIMultiDictProxy,
  ClientClosedError,
  ClientConnectionError,
  ClientConnectorCertificateError,
  ClientConnectorDNSError,
  ClientConnectorError,
  ClientConnectorSSLError,
  ClientError,
  ClientOSError,
  ClientPayloadError,
  ClientProxyConnectionError,
  ClientResponseError,
  ClientSession,
  type ClientSessionOptions,
  ClientSSLError,
  ConnectionTimeoutError,
  ContentTypeError,
  DecompressionLimitError,
  InvalidURL,
  InvalidUrlClientError,
  InvalidUrlRedirectClientError,
  NonHttpUrlClientError,
  NonHttpUrlRedirectClientError,
  RedirectBodyError,
  type RequestInfo,
  ServerConnectionError,
  ServerDisconnectedError,
  ServerFingerprintMismatch,
  ServerTimeoutError,
  SocketTimeoutError,
  TCPConnector,
  TooManyRedirects,
  WSServerHandshakeError,
  web,
} from "../../src/index.js";
import {
  rejection as failure,
  freePort,
  quiet,
  selfSignedCert,
  useTestClients,
} from "../helpers.js";
import { hasPeer } from "../peers.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const serve = useTestClients();

function session(options: ClientSessionOptions = {}): ClientSession {
  const s = new ClientSession(options);
  cleanups.push(() => s.close());
  return s;
}

// ---------------------------------------------------------------------------------------------
// The hierarchy

const info: RequestInfo = {
  url: new URL("http://example.test/a"),
  method: "GET",
  headers: new CIMultiDictProxy(),
  realUrl: new URL("http://example.test/a#frag"),
};

type AnyClass = abstract new (...args: never[]) => Error;

/** Every class with an instance and its ancestors up to ClientError, nearest first. */
const TABLE: Array<[AnyClass, Error, AnyClass[]]> = [
  [ClientError, new ClientError("x"), []],
  [ClientConnectionError, new ClientConnectionError("x"), [ClientError]],
  [ClientOSError, new ClientOSError("x"), [ClientConnectionError, ClientError]],
  [
    ClientConnectorError,
    new ClientConnectorError("h", 1, false, new Error("x")),
    [ClientOSError, ClientConnectionError, ClientError],
  ],
  [
    ClientConnectorDNSError,
    new ClientConnectorDNSError("h", 1, false, new Error("x")),
    [ClientConnectorError, ClientOSError, ClientConnectionError, ClientError],
  ],
  [
    ClientProxyConnectionError,
    new ClientProxyConnectionError("h", 1, false, new Error("x")),
    [ClientConnectorError, ClientOSError, ClientConnectionError, ClientError],
  ],
  [
    ClientSSLError,
    new ClientSSLError("h", 1, true, new Error("x")),
    [ClientConnectorError, ClientOSError, ClientConnectionError, ClientError],
  ],
  [
    ClientConnectorCertificateError,
    new ClientConnectorCertificateError("h", 1, true, new Error("x")),
    [ClientSSLError, ClientConnectorError, ClientOSError, ClientConnectionError, ClientError],
  ],
  [
    ClientConnectorSSLError,
    new ClientConnectorSSLError("h", 1, true, new Error("x")),
    [ClientSSLError, ClientConnectorError, ClientOSError, ClientConnectionError, ClientError],
  ],
  [
    ServerFingerprintMismatch,
    new ServerFingerprintMismatch(new Uint8Array(32), new Uint8Array(32), "h", 1),
    [ServerConnectionError, ClientConnectionError, ClientError],
  ],
  [ServerConnectionError, new ServerConnectionError("x"), [ClientConnectionError, ClientError]],
  [
    ServerDisconnectedError,
    new ServerDisconnectedError(),
    [ServerConnectionError, ClientConnectionError, ClientError],
  ],
  [
    ServerTimeoutError,
    new ServerTimeoutError("x"),
    [ServerConnectionError, ClientConnectionError, ClientError],
  ],
  [
    ConnectionTimeoutError,
    new ConnectionTimeoutError("x"),
    [ServerTimeoutError, ServerConnectionError, ClientConnectionError, ClientError],
  ],
  [
    SocketTimeoutError,
    new SocketTimeoutError("x"),
    [ServerTimeoutError, ServerConnectionError, ClientConnectionError, ClientError],
  ],
  [ClientResponseError, new ClientResponseError(info, { status: 500 }), [ClientError]],
  [
    ContentTypeError,
    new ContentTypeError(info, { status: 200 }),
    [ClientResponseError, ClientError],
  ],
  [
    TooManyRedirects,
    new TooManyRedirects(info, { status: 302 }),
    [ClientResponseError, ClientError],
  ],
  [
    WSServerHandshakeError,
    new WSServerHandshakeError(info, { status: 400 }),
    [ClientResponseError, ClientError],
  ],
  [ClientPayloadError, new ClientPayloadError("x"), [ClientError]],
  [InvalidURL, new InvalidURL("u"), [ClientError]],
  [InvalidUrlClientError, new InvalidUrlClientError("u"), [InvalidURL, ClientError]],
  [
    InvalidUrlRedirectClientError,
    new InvalidUrlRedirectClientError("u"),
    [InvalidUrlClientError, InvalidURL, ClientError],
  ],
  [NonHttpUrlClientError, new NonHttpUrlClientError("u"), [InvalidURL, ClientError]],
  [
    NonHttpUrlRedirectClientError,
    new NonHttpUrlRedirectClientError("u"),
    [NonHttpUrlClientError, InvalidURL, ClientError],
  ],
  [ClientClosedError, new ClientClosedError("x"), [ClientError]],
  [RedirectBodyError, new RedirectBodyError("x"), [ClientError]],
  [DecompressionLimitError, new DecompressionLimitError("x"), [ClientPayloadError, ClientError]],
];

describe("the error hierarchy", () => {
  it.each(TABLE.map(([cls, instance, parents]) => [cls.name, cls, instance, parents] as const))(
    "%s has its blueprint ancestors",
    (name, cls, instance, parents) => {
      expect(instance).toBeInstanceOf(cls);
      for (const parent of parents) expect(instance).toBeInstanceOf(parent);
      expect(instance).toBeInstanceOf(Error);
      expect(instance.name).toBe(name);
      expect(Object.getPrototypeOf(cls.prototype)).toBe(parents[0]?.prototype ?? Error.prototype);
    },
  );

  it("every class has a stable AIOHTTP_ code of its own", () => {
    const codes = TABLE.map(([, instance]) => (instance as ClientError).code);
    for (const code of codes) expect(code).toMatch(/^AIOHTTP_[A-Z_]+$/);
    expect(new Set(codes).size).toBe(TABLE.length);
    expect(new ServerTimeoutError("x").code).toBe("AIOHTTP_SERVER_TIMEOUT");
    expect(new ClientConnectorError("h", 1, false, null).code).toBe("AIOHTTP_CONNECTOR_ERROR");
  });

  it("siblings are apart: a timeout is not an OS error, a payload error is not a connection error", () => {
    expect(new ServerTimeoutError("x")).not.toBeInstanceOf(ClientOSError);
    expect(new SocketTimeoutError("x")).not.toBeInstanceOf(ConnectionTimeoutError);
    expect(new ClientPayloadError("x")).not.toBeInstanceOf(ClientConnectionError);
    expect(new TooManyRedirects(info, { status: 302 })).not.toBeInstanceOf(ClientConnectionError);
    expect(new ServerDisconnectedError()).not.toBeInstanceOf(ClientOSError);
  });

  it("ClientConnectorError carries host, port, ssl, errno and cause", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const err = new ClientConnectorError("example.test", 8443, true, cause);
    expect(err).toMatchObject({ host: "example.test", port: 8443, ssl: true });
    expect(err.errno).toBe("ECONNREFUSED");
    expect(err.cause).toBe(cause);
    expect(err.message).toBe(
      "Cannot connect to host example.test:8443 ssl:true [connect ECONNREFUSED]",
    );
  });

  it("ClientConnectorError lists every address of a failed multi-address connect", () => {
    // What node:net reports when both ::1 and 127.0.0.1 refuse (autoSelectFamily).
    const cause = Object.assign(
      new AggregateError([
        new Error("connect ECONNREFUSED ::1:81"),
        new Error("connect ECONNREFUSED 127.0.0.1:81"),
      ]),
      { code: "ECONNREFUSED" },
    );
    const err = new ClientConnectorError("localhost", 81, false, cause);
    expect(err.message).toBe(
      "Cannot connect to host localhost:81 ssl:false [connect ECONNREFUSED ::1:81; connect ECONNREFUSED 127.0.0.1:81]",
    );
    expect(err.errno).toBe("ECONNREFUSED");
  });

  it("ClientResponseError names the status, the reason and the URL", () => {
    const err = new ClientResponseError(info, { status: 404, message: "Not Found" });
    expect(err).toMatchObject({ status: 404, reason: "Not Found", requestInfo: info });
    expect(err.message).toBe('404, message="Not Found", url=http://example.test/a#frag');
    expect(err.headers).toBeNull();
    expect(err.history).toEqual([]);
  });

  it("InvalidURL keeps the URL and says what is wrong", () => {
    const err = new NonHttpUrlClientError("ftp://x/", "unsupported scheme ftp:");
    expect(err.url).toBe("ftp://x/");
    expect(err.message).toBe("ftp://x/: unsupported scheme ftp:");
  });
});

// ---------------------------------------------------------------------------------------------
// Raw servers that misbehave

interface RawRequest {
  head: string;
  method: string;
  body: Buffer;
  /** 0 for the first request on its connection. */
  index: number;
}

interface RawPeer {
  port: number;
  /** Connections accepted so far. */
  connections: () => number;
  /** Connections not closed yet (on both sides: the server's socket closes after the peer's). */
  open: () => number;
  requests: RawRequest[];
}

/**
 * A TCP server with a minimal HTTP/1.1 request reader (Content-Length bodies only): `reply`
 * decides, per request, what to write to the socket (and may destroy it).
 */
async function rawHttp(reply: (socket: Socket, request: RawRequest) => void): Promise<RawPeer> {
  const sockets = new Set<Socket>();
  const requests: RawRequest[] = [];
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    let index = 0;
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length);
        buffer = buffer.subarray(end + 4 + length);
        const request = { head, method: head.split(" ")[0] ?? "", body, index: index++ };
        requests.push(request);
        reply(socket, request);
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { port: address.port, connections: () => connections, open: () => sockets.size, requests };
}

function ok(socket: Socket, body = "ok"): void {
  socket.write(
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}

describe("connecting", () => {
  it("a refused connection is a ClientConnectorError with host, port and ECONNREFUSED", async () => {
    const port = await freePort();
    const err = await failure(session().get(`http://127.0.0.1:${port}/x`));
    expect(err).toBeInstanceOf(ClientConnectorError);
    expect(err).not.toBeInstanceOf(ClientConnectorDNSError);
    const e = err as ClientConnectorError;
    expect(e).toMatchObject({ host: "127.0.0.1", port, ssl: false, errno: "ECONNREFUSED" });
    expect((e.cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
    expect(e.message).toContain(`127.0.0.1:${port}`);
  });

  it("a refused connection by name is a ClientConnectorError for that name", async () => {
    const port = await freePort();
    const s = session({ connector: new TCPConnector({ family: 4 }) });
    const err = await failure(s.get(`http://localhost:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorError);
    expect((err as ClientConnectorError).host).toBe("localhost");
  });

  it.each([
    ["with the DNS cache", {}],
    ["without the DNS cache", { useDnsCache: false }],
  ])("a name that does not resolve is a ClientConnectorDNSError (%s)", async (_n, options) => {
    // RFC 6761 6.4: .invalid never resolves; the lookup goes to the system resolver only.
    const s = session({ connector: new TCPConnector(options) });
    const err = await failure(s.get("http://aiohttp-ts-test.invalid:8080/"));
    expect(err).toBeInstanceOf(ClientConnectorDNSError);
    const e = err as ClientConnectorDNSError;
    expect(e).toMatchObject({ host: "aiohttp-ts-test.invalid", port: 8080 });
    expect(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL"]).toContain(e.errno);
  });
});

describe("the server hanging up", () => {
  it("closing the connection before a response is ServerDisconnectedError", async () => {
    const server = await rawHttp((socket) => socket.destroy());
    const err = await failure(session().post(`http://127.0.0.1:${server.port}/`, { data: "x" }));
    expect(err).toBeInstanceOf(ServerDisconnectedError);
    expect(err.message).toContain(`http://127.0.0.1:${server.port}/`);
    // POST is not repeated.
    expect(server.connections()).toBe(1);
  });

  it("a GET whose new connection the server hangs up on is not sent again", async () => {
    // Regression: it used to be retried, so a handler that died ran twice. Only a reused
    // keep-alive connection can have been closed before the request reached the server.
    const server = await rawHttp((socket) => socket.destroy());
    const err = await failure(session().get(`http://127.0.0.1:${server.port}/`));
    expect(err).toBeInstanceOf(ServerDisconnectedError);
    expect(server.connections()).toBe(1);
    expect(server.requests).toHaveLength(1);
  });

  it("a handler that kills its connection runs once for a GET (our server)", async () => {
    let runs = 0;
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/die", (request) => {
      runs++;
      request.raw.socket.destroy();
      return new web.Response({ text: "never sent" });
    });
    const client = await serve(app);
    const err = await failure(session().get(client.makeUrl("/die")));
    expect(err).toBeInstanceOf(ServerDisconnectedError);
    expect(runs).toBe(1);
  });

  it("a handler that kills a reused keep-alive connection runs once too", async () => {
    // The connection had served a response, but the server read this request: a byte of the
    // answer never came, yet the request was not stale. Only a close before the request was
    // read is retried; here the peer answers the first request, then on the second sends the
    // start of a status line and hangs up.
    const server = await rawHttp((socket, request) => {
      if (request.index === 0) ok(socket);
      else socket.end("HTTP/1.1 5");
    });
    const s = session();
    const url = `http://127.0.0.1:${server.port}/`;
    expect(await (await s.get(url)).text()).toBe("ok");
    const err = await failure(s.get(url));
    expect(err).toBeInstanceOf(ServerDisconnectedError);
    expect(server.requests).toHaveLength(2);
    expect(server.connections()).toBe(1);
  });

  it("half a head and a close is ServerDisconnectedError", async () => {
    const server = await rawHttp((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Le"));
    const err = await failure(session().post(`http://127.0.0.1:${server.port}/`));
    expect(err).toBeInstanceOf(ServerDisconnectedError);
  });

  it("a body cut short of its Content-Length is ClientPayloadError", async () => {
    const server = await rawHttp((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
      setTimeout(() => socket.destroy(), 20);
    });
    const resp = await session().get(`http://127.0.0.1:${server.port}/`);
    expect(resp.status).toBe(200);
    const err = await failure(resp.read());
    expect(err).toBeInstanceOf(ClientPayloadError);
    expect(err.message).toContain(`http://127.0.0.1:${server.port}/`);
  });

  it("a chunked body cut short is ClientPayloadError", async () => {
    const server = await rawHttp((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
      setTimeout(() => socket.destroy(), 20);
    });
    const resp = await session().get(`http://127.0.0.1:${server.port}/`);
    expect(await failure(resp.text())).toBeInstanceOf(ClientPayloadError);
  });

  it("a cut-short body read as a stream fails the stream with ClientPayloadError", async () => {
    const server = await rawHttp((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
      setTimeout(() => socket.destroy(), 20);
    });
    const resp = await session().get(`http://127.0.0.1:${server.port}/`);
    const seen: string[] = [];
    const err = await failure(
      (async () => {
        for await (const chunk of resp.content) seen.push(String(chunk));
      })(),
    );
    // Like aiohttp's StreamReader, the error may overtake data still buffered.
    expect("0123456789".startsWith(seen.join(""))).toBe(true);
    expect(err).toBeInstanceOf(ClientPayloadError);
  });
});

describe("stale keep-alive connections", () => {
  it("a connection the server closed while idle is replaced, for GET and POST", async () => {
    // Keep-alive without a Keep-Alive hint; the server closes each connection 50 ms after a response.
    const server = await rawHttp((socket) => {
      ok(socket);
      setTimeout(() => socket.end(), 50);
    });
    const s = session();
    const url = `http://127.0.0.1:${server.port}/`;
    // The server's side closes only after the client answered the FIN with its own, so the
    // pool has dropped the connection by then. (Fixed 200 ms sleeps left that to the timers:
    // after a stall the next request could go out before the client had read the FIN.)
    const closedByServer = (): Promise<void> => vi.waitFor(() => expect(server.open()).toBe(0));
    expect(await (await s.get(url)).text()).toBe("ok");
    await closedByServer();
    expect(await (await s.get(url)).text()).toBe("ok");
    await closedByServer();
    expect(await (await s.post(url, { data: "x" })).text()).toBe("ok");
    expect(server.connections()).toBe(3);
  });

  /** Answers the first request of each connection and hangs up on any later one. */
  async function closesOnReuse(): Promise<RawPeer> {
    return rawHttp((socket, request) => {
      if (request.index === 0) ok(socket, `${request.method} ok`);
      else socket.destroy();
    });
  }

  it("a GET on a pooled connection that the server drops is retried once and succeeds", async () => {
    const server = await closesOnReuse();
    const s = session();
    const url = `http://127.0.0.1:${server.port}/`;
    expect(await (await s.get(url)).text()).toBe("GET ok");
    const again = await s.get(url);
    expect(await again.text()).toBe("GET ok");
    expect(server.connections()).toBe(2);
    expect(server.requests.map((r) => r.index)).toEqual([0, 1, 0]);
  });

  it("a POST on a pooled connection that the server drops is not retried", async () => {
    // Not idempotent (RFC 9110 9.2.2): the server may have acted on it, so the error surfaces.
    const server = await closesOnReuse();
    const s = session();
    const url = `http://127.0.0.1:${server.port}/`;
    expect(await (await s.get(url)).text()).toBe("GET ok");
    const err = await failure(s.post(url, { data: "payload" }));
    expect(err).toBeInstanceOf(ServerDisconnectedError);
    expect(server.connections()).toBe(1);
    expect(server.requests.at(-1)?.body.toString()).toBe("payload");
  });

  it.each(["PUT", "DELETE", "HEAD", "OPTIONS"])(
    "an idempotent %s on a dropped pooled connection is retried",
    async (method) => {
      const server = await closesOnReuse();
      const s = session();
      const url = `http://127.0.0.1:${server.port}/`;
      await (await s.get(url)).read();
      const resp = await s.request(method, url);
      expect(resp.status).toBe(200);
      expect(server.connections()).toBe(2);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// TLS

describe.skipIf(!hasPeer("openssl"))("TLS", () => {
  let dir: string;
  let cert: string;
  let key: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-tls-"));
    ({ key, cert } = await selfSignedCert(dir));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function httpsServer(): Promise<number> {
    const app = new web.Application();
    app.router.addGet("/", (request) => new web.Response({ text: `secure=${request.secure}` }));
    const runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    cleanups.push(() => runner.cleanup());
    const site = new web.TCPSite(runner, "127.0.0.1", 0, { ssl: { key, cert } });
    await site.start();
    return site.port;
  }

  it("a self-signed certificate is refused with ClientConnectorCertificateError", async () => {
    const port = await httpsServer();
    const err = await failure(session().get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    expect(err).toMatchObject({ host: "127.0.0.1", port, ssl: true });
    expect((err.cause as NodeJS.ErrnoException).code).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
  });

  it("ssl: false skips verification", async () => {
    const port = await httpsServer();
    const s = session({ connector: new TCPConnector({ ssl: false }) });
    const resp = await s.get(`https://127.0.0.1:${port}/`);
    expect(await resp.text()).toBe("secure=true");
  });

  it("ssl: { ca } trusts that certificate for its name", async () => {
    const port = await httpsServer();
    const s = session({ connector: new TCPConnector({ ssl: { ca: cert }, family: 4 }) });
    const resp = await s.get(`https://localhost:${port}/`);
    expect(await resp.text()).toBe("secure=true");
  });

  it("ssl: { ca } still refuses the certificate for another name", async () => {
    const port = await httpsServer();
    const s = session({ connector: new TCPConnector({ ssl: { ca: cert } }) });
    const err = await failure(s.get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientConnectorCertificateError);
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("TLS to a plain HTTP server is a ClientSSLError, not a certificate error", async () => {
    // Answers whatever arrives (here a TLS ClientHello) with plain HTTP, as an HTTP server does.
    const plain = createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () =>
        socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
      );
    });
    plain.listen(0, "127.0.0.1");
    await once(plain, "listening");
    cleanups.push(() => new Promise((resolve) => plain.close(resolve)));
    const { port } = plain.address() as { port: number };
    const err = await failure(session().get(`https://127.0.0.1:${port}/`));
    expect(err).toBeInstanceOf(ClientSSLError);
    expect(err).not.toBeInstanceOf(ClientConnectorCertificateError);
  });
});
