// Hostile servers that accept and then say nothing (or stop halfway), one per timeout kind:
// total, sockRead before the head and between body chunks, sockConnect and connect on a TLS
// handshake that never completes, and connect on a pool whose only slot a silent server holds.
// Each fails with its ServerTimeoutError subclass, the client closes the connection, and the
// same session's next request works.
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  ConnectionTimeoutError,
  ServerDisconnectedError,
  ServerTimeoutError,
  SocketTimeoutError,
  TCPConnector,
} from "../../../src/index.js";
import { deferred, useSessions, warmUpClient } from "../../helpers.js";
import {
  answer,
  expectCleanAndUsable,
  type SeenConnection,
  silence,
  useHostileServers,
  watchConnection,
} from "./hostile-server.js";

beforeAll(warmUpClient);

const hostile = useHostileServers();
const session = useSessions();

/** Fails unless `promise` rejects; resolves with the error. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => null,
    (err: unknown) => err as Error,
  );
  if (outcome === null) throw new Error("the request succeeded");
  return outcome;
}

describe("a server that never answers", () => {
  test("total: ServerTimeoutError, the connection closed", async () => {
    const server = await hostile({ "/silent": silence });
    const s = session();
    const err = await failure(s.get(`${server.url}/silent`, { timeout: { total: 200 } }));
    expect(err).toBeInstanceOf(ServerTimeoutError);
    expect(err).not.toBeInstanceOf(SocketTimeoutError);
    expect(err.message).toContain(`${server.url}/silent`);
    await expectCleanAndUsable(s, server);
  });

  test("sockRead before the head: SocketTimeoutError, the connection closed", async () => {
    const server = await hostile({ "/silent": silence });
    const s = session();
    const err = await failure(s.get(`${server.url}/silent`, { timeout: { sockRead: 200 } }));
    expect(err).toBeInstanceOf(SocketTimeoutError);
    await expectCleanAndUsable(s, server);
  });

  test("sockRead set on the session applies too", async () => {
    const server = await hostile({ "/silent": silence });
    const s = session({ timeout: { sockRead: 200 } });
    expect(await failure(s.get(`${server.url}/silent`))).toBeInstanceOf(SocketTimeoutError);
    await expectCleanAndUsable(s, server);
  });

  test("sockRead after half the body: the read fails with SocketTimeoutError", async () => {
    const server = await hostile({
      "/half": answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf."),
    });
    const s = session();
    const resp = await s.get(`${server.url}/half`, { timeout: { sockRead: 200 } });
    expect(await failure(resp.text())).toBeInstanceOf(SocketTimeoutError);
    await expectCleanAndUsable(s, server);
  });

  test("total after half the body: the read fails with ServerTimeoutError", async () => {
    const server = await hostile({
      "/half": answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhalf.\r\n"),
    });
    const s = session();
    const resp = await s.get(`${server.url}/half`, { timeout: { total: 300 } });
    expect(await failure(resp.read())).toBeInstanceOf(ServerTimeoutError);
    await expectCleanAndUsable(s, server);
  });

  test("a server that closes without answering: ServerDisconnectedError", async () => {
    const server = await hostile({ "/close": (socket) => socket.end() });
    const s = session();
    expect(await failure(s.get(`${server.url}/close`))).toBeInstanceOf(ServerDisconnectedError);
    await expectCleanAndUsable(s, server);
  });

  test("a server that resets without answering: ServerDisconnectedError", async () => {
    const server = await hostile({ "/reset": (socket) => socket.resetAndDestroy() });
    const s = session();
    expect(await failure(s.get(`${server.url}/reset`))).toBeInstanceOf(ServerDisconnectedError);
    await expectCleanAndUsable(s, server);
  });
});

describe("a TLS handshake that never completes", () => {
  // A TCP server behind an https:// URL: it takes the ClientHello and never answers it.
  const servers: Server[] = [];
  const accepted: SeenConnection[] = [];
  afterEach(async () => {
    for (const c of accepted.splice(0)) c.socket.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  async function silentTls(): Promise<string> {
    const server = createNetServer((socket: Socket) => {
      socket.on("error", () => {});
      // Read (and drop) the ClientHello: a socket never read never sees the client's close.
      socket.resume();
      accepted.push(watchConnection(socket));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `https://127.0.0.1:${(server.address() as { port: number }).port}/`;
  }

  for (const kind of ["sockConnect", "connect"] as const) {
    test(`${kind}: ConnectionTimeoutError, the socket closed`, async () => {
      const url = await silentTls();
      const ok = await hostile({});
      const s = session({ timeout: { [kind]: 300, total: 10_000 } });
      const err = await failure(s.get(url));
      expect(err).toBeInstanceOf(ConnectionTimeoutError);
      await Promise.all(accepted.map((c) => c.closed));
      expect(accepted.length).toBeGreaterThan(0);
      await expectCleanAndUsable(s, ok);
    });
  }

  test("total: ServerTimeoutError at once; the opening socket is the pool's, closed by sockConnect", async () => {
    const url = await silentTls();
    const ok = await hostile({});
    const s = session({ timeout: { total: 300, sockConnect: 1_500 } });
    const err = await failure(s.get(url));
    expect(err).toBeInstanceOf(ServerTimeoutError);
    expect(err).not.toBeInstanceOf(ConnectionTimeoutError);
    // undici opens a connection for its pool, not for one request: a request given up on
    // leaves it opening until the connect timeout (documented in docs/client.md).
    expect(s.connector.active).toBe(0);
    await Promise.all(accepted.map((c) => c.closed));
    await expectCleanAndUsable(s, ok);
  });
});

describe("a full pool (peer fault)", () => {
  test("limit 1 held by a silent server: the next request times out on connect, then the pool recovers", async () => {
    const holding = deferred<void>();
    const server = await hostile({ "/silent": () => holding.resolve() });
    const connector = new TCPConnector({ limit: 1 });
    const s = session({ connector, connectorOwner: true });
    const controller = new AbortController();
    const holder = failure(s.get(`${server.url}/silent`, { signal: controller.signal }));
    // The holder has the only slot once its request reached the server.
    await holding.promise;
    expect(connector.active).toBe(1);
    const err = await failure(s.get(`${server.url}/ok`, { timeout: { connect: 200 } }));
    expect(err).toBeInstanceOf(ConnectionTimeoutError);
    expect(err.message).toMatch(/127\.0\.0\.1/);
    expect(connector.waiting).toBe(0);
    controller.abort();
    expect((await holder).name).toBe("AbortError");
    await expectCleanAndUsable(s, server);
  });

  test("limitPerHost 1 held by a silent server: connect bounds the wait, whatever sockConnect (regression: another sockConnect went past on a pool of its own)", async () => {
    const holding = deferred<void>();
    const server = await hostile({ "/silent": () => holding.resolve() });
    const connector = new TCPConnector({ limitPerHost: 1 });
    const s = session({ connector, connectorOwner: true });
    const controller = new AbortController();
    const holder = failure(s.get(`${server.url}/silent`, { signal: controller.signal }));
    await holding.promise;
    for (const timeout of [{ connect: 200 }, { connect: 200, sockConnect: 5_000 }]) {
      const err = await failure(s.get(`${server.url}/ok`, { timeout }));
      expect(err).toBeInstanceOf(ConnectionTimeoutError);
    }
    expect(server.requests.map((r) => r.target)).toEqual(["/silent"]);
    expect(connector.waiting).toBe(0);
    // Another origin (the same server by another name) is not held up.
    await using other = await s.get(`http://localhost:${server.port}/ok`, {
      timeout: { connect: 2_000 },
    });
    expect(await other.text()).toBe("ok");
    controller.abort();
    expect((await holder).name).toBe("AbortError");
    // The silent connection is closed; the one to localhost stays in the pool, fit for reuse.
    await server.connections[0]?.closed;
    await expectCleanAndUsable(s, server, { closed: false });
  });
});
