// Hostile servers, response heads: a head over the size limit, one that never ends (sent
// as fast as the socket takes it, or trickled), too many or too long header lines. The client
// gives up with a ClientResponseError (status 400, as aiohttp) or a timeout, closes the
// connection, and the session's next request works.
import type { Socket } from "node:net";
import { beforeAll, describe, expect, test } from "vitest";
import {
  ClientResponseError,
  ServerTimeoutError,
  SocketTimeoutError,
  TCPConnector,
} from "../../../src/index.js";
import { useSessions, warmUpClient } from "../../helpers.js";
import {
  answer,
  type Behaviour,
  expectCleanAndUsable,
  useHostileServers,
} from "./hostile-server.js";

beforeAll(warmUpClient);

const hostile = useHostileServers();
const session = useSessions();

/** Writes header lines as fast as the socket takes them, until it closes. */
function endlessHead(socket: Socket): void {
  socket.write("HTTP/1.1 200 OK\r\n");
  const line = `X-Filler: ${"f".repeat(1000)}\r\n`;
  const pump = (): void => {
    while (!socket.destroyed && socket.write(line)) {
      // Keep writing until the socket buffer is full.
    }
    if (!socket.destroyed) socket.once("drain", pump);
  };
  pump();
}

/** Writes one header line every `ms`, never ending the head, until the socket closes. */
function trickledHead(ms: number): (socket: Socket) => void {
  return (socket) => {
    socket.write("HTTP/1.1 200 OK\r\n");
    let n = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) clearInterval(timer);
      else socket.write(`X-Slow-${n++}: v\r\n`);
    }, ms);
    socket.once("close", () => clearInterval(timer));
  };
}

/**
 * GETs `/bad`, answered by `route`, and checks the connector is clean afterwards. `closed`:
 * whether the connection must be closed (a head the client gave up on); a complete response it
 * refused leaves a connection fit for reuse.
 */
async function headError(
  route: Behaviour,
  {
    options = {},
    timeout,
    closed = true,
  }: {
    options?: Parameters<typeof session>[0];
    timeout?: { total?: number; sockRead?: number };
    closed?: boolean;
  } = {},
): Promise<unknown> {
  const server = await hostile({ "/bad": route });
  const s = session(options);
  const err = await s
    .get(`${server.url}/bad`, timeout === undefined ? {} : { timeout })
    .catch((e: unknown) => e);
  await expectCleanAndUsable(s, server, { closed });
  return err;
}

describe("a head that never ends", () => {
  test("sent as fast as possible: ClientResponseError 400 at maxHeaderSize (regression: it was a ClientConnectionError)", async () => {
    const err = await headError(endlessHead, {
      options: {
        connector: new TCPConnector({ maxHeaderSize: 64 * 1024 }),
        connectorOwner: true,
      },
    });
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as ClientResponseError).status).toBe(400);
    expect((err as Error).message).toMatch(/headers too large/i);
  });

  test("with the default maxHeaderSize (1 MiB) too", async () => {
    const err = await headError(endlessHead);
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as Error).message).toMatch(/headers too large/i);
  });

  test("trickled: sockRead bounds the wait for the whole head", async () => {
    const err = await headError(trickledHead(20), { timeout: { sockRead: 300 } });
    expect(err).toBeInstanceOf(SocketTimeoutError);
  });

  test("trickled: total bounds it when sockRead is off", async () => {
    const err = await headError(trickledHead(20), { timeout: { total: 300 } });
    expect(err).toBeInstanceOf(ServerTimeoutError);
    expect((err as Error).message).toMatch(/Timeout \(total 300 ms\)/);
  });
});

describe("header lines", () => {
  test("thousands of short header lines: ClientResponseError 400 (maxHeaders)", async () => {
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n";
    for (let i = 0; i < 5000; i++) head += `X-${i}: v\r\n`;
    const err = await headError(answer(`${head}\r\n`), { closed: false });
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as ClientResponseError).status).toBe(400);
    expect((err as Error).message).toMatch(/Too many headers/);
  });

  test("one 200 KiB header line: ClientResponseError 400 (maxFieldSize)", async () => {
    const err = await headError(
      answer(`HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(200 * 1024)}\r\nContent-Length: 0\r\n\r\n`),
      { closed: false },
    );
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as Error).message).toMatch(/more than 8190 bytes when reading header x-big/i);
  });

  test("a 20 KiB status line: ClientResponseError 400 (regression: undici kept a piece of it as the reason)", async () => {
    const err = await headError(
      answer(`HTTP/1.1 200 ${"r".repeat(20 * 1024)}\r\nContent-Length: 0\r\n\r\n`),
      { closed: false },
    );
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as Error).message).toMatch(/more than 8190 bytes when reading the status line/);
  });

  test("a status line that never ends: sockRead bounds the wait", async () => {
    const err = await headError(
      (socket) => {
        socket.write("HTTP/1.1 200 ");
        const timer = setInterval(() => socket.write("r".repeat(1024)), 10);
        socket.once("close", () => clearInterval(timer));
      },
      { timeout: { sockRead: 300 } },
    );
    expect(err).toBeInstanceOf(SocketTimeoutError);
  });
});

describe("informational responses", () => {
  test("103 Early Hints before the answer are skipped", async () => {
    const server = await hostile({
      "/hints": answer(
        `${"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n".repeat(3)}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi`,
      ),
    });
    const s = session();
    await using resp = await s.get(`${server.url}/hints`);
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("hi");
  });

  test("an endless stream of 103s: sockRead bounds the wait for the final head", async () => {
    const err = await headError(
      (socket) => {
        const timer = setInterval(() => socket.write("HTTP/1.1 103 Early Hints\r\n\r\n"), 10);
        socket.once("close", () => clearInterval(timer));
      },
      { timeout: { sockRead: 300 } },
    );
    expect(err).toBeInstanceOf(SocketTimeoutError);
  });

  test("an unsolicited 100 Continue: ClientResponseError 400 (regression: a ServerDisconnectedError)", async () => {
    // undici sends no Expect over HTTP/1.1 and refuses a 100 it did not ask for (aiohttp skips
    // it): the error says so, rather than blaming a disconnect, and is not retried.
    const err = await headError(
      answer("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    );
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as ClientResponseError).status).toBe(400);
    expect((err as Error).message).toMatch(/unsolicited 100 Continue/);
  });

  test("a 101 Switching Protocols to a plain GET: ClientResponseError 400", async () => {
    const err = await headError(
      answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: Upgrade\r\n\r\n"),
    );
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as Error).message).toMatch(/Unexpected 101/);
  });
});

describe("expect100: true (a connection of its own, over node:http)", () => {
  test("a head that does not parse: ClientResponseError 400 as well", async () => {
    const server = await hostile({ "/bad": answer("HTTP/1.1 2x0 OK\r\n\r\n") });
    const s = session();
    const err = await s
      .post(`${server.url}/bad`, { data: "body", expect100: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as ClientResponseError).status).toBe(400);
    await expectCleanAndUsable(s, server);
  });

  test("a head over the size limit: ClientResponseError 400", async () => {
    const server = await hostile({
      "/big": answer(`HTTP/1.1 200 OK\r\nX-A: ${"a".repeat(100_000)}\r\nContent-Length: 0\r\n\r\n`),
    });
    const s = session();
    const err = await s
      .post(`${server.url}/big`, { data: "body", expect100: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientResponseError);
    await expectCleanAndUsable(s, server);
  });
});
