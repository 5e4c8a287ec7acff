// Hostile servers, response framing: bodies cut short, a Content-Length that lies either way,
// broken chunked encoding, response heads that do not parse, and compressed bodies that inflate
// past the limit. Each request fails with its class, the connection it used is closed, and the
// same session's next request works.
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { beforeAll, describe, expect, test } from "vitest";
import {
  ClientPayloadError,
  ClientResponseError,
  DecompressionLimitError,
} from "../../../src/index.js";
import { useSessions, warmUpClient } from "../../helpers.js";
import {
  answer,
  answerAndClose,
  type Behaviour,
  expectCleanAndUsable,
  useHostileServers,
} from "./hostile-server.js";

beforeAll(warmUpClient);

const hostile = useHostileServers();
const session = useSessions();

/** GETs `/bad` from a server whose `/bad` does `behaviour`; resolves with the body's error. */
async function bodyError(
  behaviour: Behaviour,
  options: Parameters<typeof session>[0] = {},
): Promise<{ error: unknown; check: (o?: { closed?: boolean }) => Promise<void> }> {
  const server = await hostile({ "/bad": behaviour });
  const s = session(options);
  const resp = await s.get(`${server.url}/bad`);
  expect(resp.status).toBe(200);
  const error = await resp.read().then(
    () => new Error("the body was read without an error"),
    (err: unknown) => err,
  );
  return { error, check: (o) => expectCleanAndUsable(s, server, o) };
}

const CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

describe("bodies cut short", () => {
  test("a Content-Length longer than the body, then close: ClientPayloadError", async () => {
    const { error, check } = await bodyError(
      answerAndClose("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"),
    );
    expect(error).toBeInstanceOf(ClientPayloadError);
    expect((error as Error).message).toMatch(/not completed/);
    await check();
  });

  test("a chunked body closed before its last chunk: ClientPayloadError", async () => {
    const { error, check } = await bodyError(answerAndClose(`${CHUNKED}5\r\nhello\r\n`));
    expect(error).toBeInstanceOf(ClientPayloadError);
    await check();
  });

  test("a chunked body closed inside a chunk: ClientPayloadError", async () => {
    const { error, check } = await bodyError(answerAndClose(`${CHUNKED}a\r\nhel`));
    expect(error).toBeInstanceOf(ClientPayloadError);
    await check();
  });

  test("a reset after the head: ClientPayloadError", async () => {
    const { error, check } = await bodyError((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart", () =>
        socket.resetAndDestroy(),
      );
    });
    expect(error).toBeInstanceOf(ClientPayloadError);
    await check();
  });
});

describe("a Content-Length shorter than the body", () => {
  test("the extra bytes never become the next response", async () => {
    const smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled";
    const server = await hostile({
      "/short": answer(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi${smuggled}`),
    });
    const s = session();
    const first = await s.get(`${server.url}/short`);
    expect(await first.text()).toBe("hi");
    // The connection that carried extra bytes is not reused: the second answer is the server's.
    await server.allClosed();
    const second = await s.get(`${server.url}/ok`);
    expect(await second.text()).toBe("ok");
    expect(server.requests.map((r) => r.target)).toEqual(["/short", "/ok"]);
    expect(server.requests[1]?.connection).toBe(1);
  });

  test("extra bytes sent after a pause do not answer the next request either", async () => {
    const server = await hostile({
      "/short": (socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
        // Written once the client had the whole response and the connection is idle in the pool.
        setImmediate(() => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"));
      },
    });
    const s = session();
    expect(await (await s.get(`${server.url}/short`)).text()).toBe("hi");
    await server.allClosed();
    expect(await (await s.get(`${server.url}/ok`)).text()).toBe("ok");
    expect(server.requests.map((r) => r.target)).toEqual(["/short", "/ok"]);
  });
});

describe("bytes after the end of a response", () => {
  test("extra bytes after the last chunk never become the next response", async () => {
    const smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled";
    const server = await hostile({
      "/chunked": answer(`${CHUNKED}2\r\nhi\r\n0\r\n\r\n${smuggled}`),
    });
    const s = session();
    expect(await (await s.get(`${server.url}/chunked`)).text()).toBe("hi");
    await server.allClosed();
    expect(await (await s.get(`${server.url}/ok`)).text()).toBe("ok");
    expect(server.requests.map((r) => r.target)).toEqual(["/chunked", "/ok"]);
  });

  test("Connection: close from a server that keeps the socket: the client closes it", async () => {
    const server = await hostile({
      "/bye": answer("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye"),
    });
    const s = session();
    expect(await (await s.get(`${server.url}/bye`)).text()).toBe("bye");
    await expectCleanAndUsable(s, server);
    expect(server.requests[1]?.connection).toBe(1);
  });
});

describe("invalid chunked encoding", () => {
  const cases: Record<string, string> = {
    "a chunk size that is not hex": `${CHUNKED}zz\r\nhello\r\n0\r\n\r\n`,
    "a chunk without its CRLF": `${CHUNKED}5\r\nhelloXX0\r\n\r\n`,
    "a chunk size that overflows": `${CHUNKED}ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n`,
    "a negative chunk size": `${CHUNKED}-5\r\nhello\r\n0\r\n\r\n`,
    "a chunk longer than its size": `${CHUNKED}2\r\nhello\r\n0\r\n\r\n`,
    "a bare LF after the chunk size": `${CHUNKED}5\nhello\r\n0\r\n\r\n`,
  };
  for (const [name, raw] of Object.entries(cases)) {
    test(`${name}: ClientPayloadError, and the client closes the connection`, async () => {
      // The server keeps the connection open: closing it is the client's job.
      const { error, check } = await bodyError(answer(raw));
      expect(error).toBeInstanceOf(ClientPayloadError);
      await check();
    });
  }
});

describe("response heads that do not parse", () => {
  const cases: Record<string, string> = {
    "a status code that is not a number": "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
    "no status line at all": "hello there\r\n\r\n",
    "a header line without a colon": "HTTP/1.1 200 OK\r\nBroken\r\nContent-Length: 0\r\n\r\n",
    "a space before the colon": "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "two different Content-Lengths":
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "Content-Length with Transfer-Encoding: chunked":
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "a NUL in a header value": "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n",
    "a NUL in a header name": "HTTP/1.1 200 OK\r\nX\0A: b\r\nContent-Length: 0\r\n\r\n",
    "a space in a header name": "HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok",
    "an obs-fold continuation line":
      "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    "a Content-Length that is not a number": "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
    "a negative Content-Length": "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "a Content-Length with a sign": "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    "a Content-Length of two numbers": "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nok",
    "bare LF line ends": "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "a bare CR in the head": "HTTP/1.1 200 OK\rContent-Length: 2\r\r\nok",
    "a two-digit status": "HTTP/1.1 99 OK\r\nContent-Length: 2\r\n\r\nok",
    "a four-digit status": "HTTP/1.1 1000 OK\r\nContent-Length: 2\r\n\r\nok",
  };
  for (const [name, raw] of Object.entries(cases)) {
    test(`${name}: ClientResponseError 400 (regression: it was a ClientConnectionError)`, async () => {
      const server = await hostile({ "/bad": answer(raw) });
      const s = session();
      const err = await s.get(`${server.url}/bad`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientResponseError);
      expect((err as ClientResponseError).status).toBe(400);
      expect((err as ClientResponseError).requestInfo.url.pathname).toBe("/bad");
      await expectCleanAndUsable(s, server);
    });
  }
});

describe("decompression bombs", () => {
  // 8 MiB of zeros compress to a few KiB: far over a 1 MiB limit.
  const zeros = Buffer.alloc(8 * 1024 * 1024);
  const encoded: Record<string, Buffer> = {
    gzip: gzipSync(zeros),
    deflate: deflateSync(zeros),
    br: brotliCompressSync(zeros),
  };
  const limit = { maxDecompressedSize: 1024 * 1024 };
  const head = (coding: string, length: number): Buffer =>
    Buffer.from(
      `HTTP/1.1 200 OK\r\nContent-Encoding: ${coding}\r\nContent-Length: ${length}\r\n\r\n`,
    );

  for (const [coding, body] of Object.entries(encoded)) {
    test(`a ${coding} body inflating past maxDecompressedSize: DecompressionLimitError`, async () => {
      expect(body.length).toBeLessThan(64 * 1024);
      const raw = Buffer.concat([head(coding, body.length), body]);
      const { error, check } = await bodyError(answer(raw), limit);
      expect(error).toBeInstanceOf(DecompressionLimitError);
      expect(error).toBeInstanceOf(ClientPayloadError);
      await check({ closed: false });
    });

    test(`a ${coding} bomb still arriving when the limit is hit: its connection is closed`, async () => {
      // Twice the body is announced and half of it sent: the client must give up on a
      // connection whose message it will not read to the end.
      const raw = Buffer.concat([head(coding, body.length * 2), body]);
      const { error, check } = await bodyError(answer(raw), limit);
      expect(error).toBeInstanceOf(DecompressionLimitError);
      await check();
    });
  }

  test("a bomb read in chunks from `content` stops at the limit too", async () => {
    const body = encoded.gzip ?? Buffer.alloc(0);
    const raw = Buffer.concat([head("gzip", body.length * 2), body]);
    const server = await hostile({ "/bad": answer(raw) });
    const s = session(limit);
    const resp = await s.get(`${server.url}/bad`);
    let got = 0;
    const err = await (async () => {
      for await (const chunk of resp.content.iterChunked(64 * 1024)) got += chunk.length;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecompressionLimitError);
    expect(got).toBeLessThanOrEqual(1024 * 1024);
    await expectCleanAndUsable(s, server);
  });
});
