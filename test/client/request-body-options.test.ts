// Request options that change how a body goes on the wire, over real sockets: `compress`,
// `chunked`, and the progress callbacks. A node:http server shows the framing headers and the
// bytes as they arrived; our own server decompresses for the round trips.
import { createServer, type IncomingHttpHeaders } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync, inflateSync } from "node:zlib";
import { afterEach, describe, expect, test } from "vitest";
import {
  FormData as AiohttpFormData,
  ClientConnectorError,
  ClientOptionError,
  type Progress,
  SocketTimeoutError,
  web,
} from "../../src/index.js";
import { rejection, useSessions, useTestClients } from "../helpers.js";

const session = useSessions();
const serve = useTestClients();

/** What the raw server saw of one request. */
interface Arrived {
  headers: IncomingHttpHeaders;
  /** The body as it came over the wire (de-chunked by node:http, not decompressed). */
  body: Buffer;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/**
 * A node:http server that records each request and answers 200 with `reply` (an empty body by
 * default). Returns its URL and the requests seen so far.
 */
async function rawServer(
  reply: { body?: Buffer; headers?: Record<string, string> } = {},
): Promise<{ url: string; seen: Arrived[] }> {
  const seen: Arrived[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, reply.headers ?? {});
      res.end(reply.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen };
}

/** Our server, answering with what the handler read (decompressed) and the framing headers. */
async function echoServer(): Promise<string> {
  const app = new web.Application({ clientMaxSize: 64 * 1024 * 1024 });
  app.router.addPost("/", async (request) => {
    const body = await request.read();
    return web.jsonResponse({
      text: body.toString(),
      contentEncoding: request.headers.get("Content-Encoding") ?? null,
      transferEncoding: request.headers.get("Transfer-Encoding") ?? null,
      contentLength: request.headers.get("Content-Length") ?? null,
    });
  });
  const client = await serve(app);
  return client.makeUrl("/").href;
}

const TEXT = "aiohttp-ts compresses this request body on the fly.\n".repeat(2000);

async function* lines(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < 2000; i++) yield Buffer.from(TEXT.slice(0, 52));
}

describe("compress", () => {
  test("true deflates the body, sets Content-Encoding and sends it chunked", async () => {
    const { url, seen } = await rawServer();
    const resp = await session().post(url, { data: TEXT, compress: true });
    await resp.release();
    const [req] = seen;
    expect(req?.headers["content-encoding"]).toBe("deflate");
    expect(req?.headers["transfer-encoding"]).toBe("chunked");
    expect(req?.headers["content-length"]).toBeUndefined();
    expect(req?.body.length).toBeLessThan(TEXT.length / 10);
    expect(inflateSync(req?.body ?? Buffer.alloc(0)).toString()).toBe(TEXT);
  });

  test('"gzip" gzips a streamed body', async () => {
    const { url, seen } = await rawServer();
    const resp = await session().post(url, { data: lines(), compress: "gzip" });
    await resp.release();
    expect(seen[0]?.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(seen[0]?.body ?? Buffer.alloc(0)).toString()).toBe(TEXT);
  });

  for (const compress of [true, "deflate", "gzip"] as const) {
    test(`${JSON.stringify(compress)} round-trips through our server's decompression`, async () => {
      const url = await echoServer();
      const resp = await session().post(url, { data: Readable.from(lines()), compress });
      expect(await resp.json()).toEqual({
        text: TEXT,
        contentEncoding: compress === true ? "deflate" : compress,
        transferEncoding: "chunked",
        contentLength: null,
      });
    });
  }

  test("a Content-Encoding header as well is refused before anything is sent", async () => {
    const { url, seen } = await rawServer();
    const err = await rejection(
      session().post(url, {
        data: gzipSync(TEXT),
        compress: "gzip",
        headers: { "Content-Encoding": "gzip" },
      }),
    );
    expect(err).toBeInstanceOf(ClientOptionError);
    expect(err).toMatchObject({ code: "AIOHTTP_INVALID_OPTION", option: "compress" });
    expect(err.message).toMatch(/Content-Encoding/);
    expect(seen).toEqual([]);
  });

  test("a Content-Length header as well is refused (the compressed length is not known)", async () => {
    const err = await rejection(
      session().post("http://127.0.0.1:1/", {
        data: TEXT,
        compress: true,
        headers: { "Content-Length": String(TEXT.length) },
      }),
    );
    expect(err).toMatchObject({ code: "AIOHTTP_INVALID_OPTION", option: "compress" });
  });

  test("a value that is no coding is refused", async () => {
    const err = await rejection(
      session().post("http://127.0.0.1:1/", {
        data: TEXT,
        compress: "br" as unknown as "gzip",
      }),
    );
    expect(err).toMatchObject({ code: "AIOHTTP_INVALID_OPTION", option: "compress" });
  });

  test("a request without a body gets no Content-Encoding", async () => {
    const { url, seen } = await rawServer();
    await (await session().get(url, { compress: true })).release();
    expect(seen[0]?.headers["content-encoding"]).toBeUndefined();
  });
});

describe("chunked", () => {
  test("true sends a body of known length with Transfer-Encoding: chunked", async () => {
    const { url, seen } = await rawServer();
    await (await session().post(url, { data: "short", chunked: true })).release();
    await (await session().post(url, { data: Buffer.from(TEXT), chunked: true })).release();
    for (const [req, text] of [
      [seen[0], "short"],
      [seen[1], TEXT],
    ] as const) {
      expect(req?.headers["transfer-encoding"]).toBe("chunked");
      expect(req?.headers["content-length"]).toBeUndefined();
      expect(req?.body.toString()).toBe(text);
    }
  });

  test("without it, the same body goes with Content-Length", async () => {
    const { url, seen } = await rawServer();
    await (await session().post(url, { data: "short" })).release();
    expect(seen[0]?.headers["content-length"]).toBe("5");
    expect(seen[0]?.headers["transfer-encoding"]).toBeUndefined();
  });

  test("a small stream that has ended before sending still goes chunked", async () => {
    const { url, seen } = await rawServer();
    const stream = Readable.from([Buffer.from("ab")], { objectMode: false });
    await (await session().post(url, { data: stream, chunked: true })).release();
    expect(seen[0]?.headers["transfer-encoding"]).toBe("chunked");
    expect(seen[0]?.body.toString()).toBe("ab");
  });

  test("a Content-Length header as well is refused", async () => {
    const err = await rejection(
      session().post("http://127.0.0.1:1/", {
        data: "short",
        chunked: true,
        headers: { "Content-Length": "5" },
      }),
    );
    expect(err).toBeInstanceOf(ClientOptionError);
    expect(err).toMatchObject({ code: "AIOHTTP_INVALID_OPTION", option: "chunked" });
  });
});

describe("onUploadProgress", () => {
  test("counts a buffer body up to its length, in order", async () => {
    const { url, seen } = await rawServer();
    const body = Buffer.alloc(300 * 1024, 7);
    const calls: Array<{ transferred: number; total: number | null }> = [];
    const resp = await session().post(url, {
      data: body,
      onUploadProgress: (p) => calls.push(p),
    });
    await resp.release();
    expect(seen[0]?.headers["content-length"]).toBe(String(body.length));
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.every((c) => c.total === body.length)).toBe(true);
    const counts = calls.map((c) => c.transferred);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(calls.at(-1)?.transferred).toBe(body.length);
  });

  test("a stream's total is its Content-Length header, or null without one", async () => {
    const { url, seen } = await rawServer();
    const size = 2000 * 52;
    const known: Array<number | null> = [];
    const unknown: Array<number | null> = [];
    let last = 0;
    await (
      await session().post(url, {
        data: lines(),
        headers: { "Content-Length": String(size) },
        onUploadProgress: (p) => known.push(p.total),
      })
    ).release();
    await (
      await session().post(url, {
        data: lines(),
        onUploadProgress: (p) => {
          unknown.push(p.total);
          last = p.transferred;
        },
      })
    ).release();
    expect(seen[0]?.headers["content-length"]).toBe(String(size));
    expect(new Set(known)).toEqual(new Set([size]));
    expect(new Set(unknown)).toEqual(new Set([null]));
    expect(last).toBe(size);
  });

  test("with compress, it counts the compressed bytes sent", async () => {
    const { url, seen } = await rawServer();
    let last = -1;
    await (
      await session().post(url, {
        data: TEXT,
        compress: "gzip",
        onUploadProgress: (p) => {
          last = p.transferred;
          expect(p.total).toBeNull();
        },
      })
    ).release();
    expect(last).toBe(seen[0]?.body.length);
  });

  test("a callback that throws fails the request with its error", async () => {
    const { url } = await rawServer();
    const boom = new Error("progress callback failed");
    const err = await rejection(
      session().post(url, {
        data: Buffer.alloc(256 * 1024),
        onUploadProgress: () => {
          throw boom;
        },
      }),
    );
    expect(err).toBe(boom);
    // The session still works.
    const resp = await session().post(url, { data: "again" });
    expect(resp.status).toBe(200);
  });
});

describe("onDownloadProgress", () => {
  test("counts the body as it is read, with Content-Length as total", async () => {
    const body = Buffer.alloc(500 * 1024, 1);
    const { url } = await rawServer({ body, headers: { "Content-Length": String(body.length) } });
    const calls: Array<{ transferred: number; total: number | null }> = [];
    const resp = await session().get(url, { onDownloadProgress: (p) => calls.push(p) });
    expect(calls).toEqual([]);
    expect((await resp.read()).length).toBe(body.length);
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.every((c) => c.total === body.length)).toBe(true);
    expect(calls.at(-1)?.transferred).toBe(body.length);
  });

  test("a compressed body counts the bytes on the wire, before decompression", async () => {
    const gz = gzipSync(TEXT);
    const { url } = await rawServer({
      body: gz,
      headers: { "Content-Encoding": "gzip", "Content-Length": String(gz.length) },
    });
    let last = { transferred: 0, total: null as number | null };
    const resp = await session().get(url, { onDownloadProgress: (p) => (last = p) });
    expect(await resp.text()).toBe(TEXT);
    expect(last).toEqual({ transferred: gz.length, total: gz.length });
  });

  test("a callback that throws fails the read with its error", async () => {
    const { url } = await rawServer({ body: Buffer.alloc(64 * 1024) });
    const boom = new Error("download callback failed");
    const resp = await session().get(url, {
      onDownloadProgress: () => {
        throw boom;
      },
    });
    expect(await rejection(resp.read())).toBe(boom);
  });
});

/** What the raw Expect server saw of one request. */
interface ContinueSeen {
  head: string;
  /** Body bytes that came before the server answered. */
  early: number;
  /** Body bytes that came after it answered. */
  late: number;
  /** Settles when the client closed the connection. */
  closed: Promise<void>;
}

/**
 * A raw TCP server for `Expect: 100-continue`: once a request head is in, it answers `first`
 * ("100" sends `100 Continue` and then 200 with the body length once the body is in; "silent"
 * sends nothing; any other status is sent as a final answer at once) and counts the body bytes
 * around it.
 */
async function expectServer(first: string): Promise<{ url: string; seen: ContinueSeen[] }> {
  const seen: ContinueSeen[] = [];
  const server = createNetServer((socket) => {
    let buffered = Buffer.alloc(0);
    let entry: ContinueSeen | undefined;
    let answered = false;
    let length = 0;
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      if (entry === undefined) {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString("latin1");
        entry = { head, early: buffered.length - end - 4, late: 0, closed };
        seen.push(entry);
        length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
        answered = true;
        if (first === "100") socket.write("HTTP/1.1 100 Continue\r\n\r\n");
        else if (first !== "silent")
          socket.write(`HTTP/1.1 ${first} No\r\nContent-Length: 2\r\n\r\nno`);
      } else if (answered) entry.late += chunk.length;
      if (first === "100" && entry !== undefined && entry.early + entry.late >= length) {
        const text = `got ${entry.late}`;
        socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen };
}

describe("expect100", () => {
  test("sends Expect: 100-continue and the body only after 100 Continue", async () => {
    const { url, seen } = await expectServer("100");
    const body = Buffer.alloc(200 * 1024, 3);
    const resp = await session().post(url, { data: body, expect100: true });
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe(`got ${body.length}`);
    expect(seen[0]?.head).toMatch(/\r\nExpect: 100-continue(\r\n|$)/i);
    expect(seen[0]?.head).toMatch(/\r\nContent-Length: 204800(\r\n|$)/i);
    expect(seen[0]?.early).toBe(0);
  });

  for (const status of [401, 417]) {
    test(`a ${status} before 100 Continue is the response, and no body byte is sent`, async () => {
      const { url, seen } = await expectServer(String(status));
      let progressCalls = 0;
      const resp = await session().put(url, {
        data: Readable.from(lines()),
        expect100: true,
        onUploadProgress: () => progressCalls++,
      });
      expect(resp.status).toBe(status);
      expect(await resp.text()).toBe("no");
      // The client closes the connection once the answer is read: every byte it sent is in.
      await seen[0]?.closed;
      expect(seen[0]?.early).toBe(0);
      expect(seen[0]?.late).toBe(0);
      expect(progressCalls).toBe(0);
    });
  }

  test("works with compress and upload progress against our own server", async () => {
    const url = await echoServer();
    let last = 0;
    const resp = await session().post(url, {
      data: TEXT,
      expect100: true,
      compress: "gzip",
      onUploadProgress: (p) => {
        last = p.transferred;
      },
    });
    expect(await resp.json()).toMatchObject({ text: TEXT, contentEncoding: "gzip" });
    expect(last).toBeGreaterThan(0);
  });

  test("sockRead bounds a server that never answers the head", async () => {
    const { url, seen } = await expectServer("silent");
    const err = await rejection(
      session().post(url, { data: "x", expect100: true, timeout: { sockRead: 200 } }),
    );
    expect(err).toBeInstanceOf(SocketTimeoutError);
    expect(seen[0]?.early).toBe(0);
  });

  test("a refused connection is a ClientConnectorError", async () => {
    const err = await rejection(
      session().post("http://127.0.0.1:1/", { data: "x", expect100: true }),
    );
    expect(err).toBeInstanceOf(ClientConnectorError);
  });
});

describe("every body kind with the options", () => {
  test("a FormData goes gzipped with its boundary, and our server parses it", async () => {
    const app = new web.Application();
    app.router.addPost("/", async (request) => {
      const form = await request.post();
      return web.jsonResponse({
        field: form.get("field"),
        encoding: request.headers.get("Content-Encoding") ?? null,
      });
    });
    const client = await serve(app);
    const form = new FormData();
    form.append("field", "value ".repeat(100));
    const resp = await session().post(client.makeUrl("/"), { data: form, compress: "gzip" });
    expect(await resp.json()).toEqual({ field: "value ".repeat(100), encoding: "gzip" });
  });

  test("our multipart FormData: its known length with no option, none when compressed or chunked", async () => {
    const { url, seen } = await rawServer();
    const form = (): AiohttpFormData => {
      const f = new AiohttpFormData();
      f.addField("note", "hello");
      f.addField("file", Buffer.alloc(70_000, 7), { filename: "f.bin" });
      return f;
    };
    let last: Progress | null = null;
    await session().post(url, { data: form(), onUploadProgress: (p) => (last = p) });
    await session().post(url, { data: form(), compress: "gzip" });
    await session().post(url, { data: form(), chunked: true });
    const [plain, gzipped, chunked] = seen;
    expect(plain?.headers["content-length"]).toBe(String(plain?.body.length));
    expect(plain?.headers["transfer-encoding"]).toBeUndefined();
    expect(last).toEqual({ transferred: plain?.body.length, total: plain?.body.length });
    expect(gzipped?.headers["content-length"]).toBeUndefined();
    expect(gzipped?.headers["content-encoding"]).toBe("gzip");
    // Each form has its own random boundary, of the same length.
    expect(gunzipSync(gzipped?.body as Buffer).length).toBe(plain?.body.length);
    expect(chunked?.headers["content-length"]).toBeUndefined();
    expect(chunked?.headers["transfer-encoding"]).toBe("chunked");
    expect(chunked?.body.length).toBe(plain?.body.length);
  });

  test("a web ReadableStream is compressed and counted", async () => {
    const url = await echoServer();
    const chunks = [Buffer.from("web "), Buffer.from("stream "), Buffer.from("body")];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    let calls = 0;
    const resp = await session().post(url, {
      data: stream,
      compress: true,
      onUploadProgress: () => calls++,
    });
    expect(await resp.json()).toMatchObject({
      text: "web stream body",
      contentEncoding: "deflate",
    });
    expect(calls).toBeGreaterThan(0);
  });

  test("a compressed string body is sent again on a 307 redirect", async () => {
    const app = new web.Application();
    app.router.addPost(
      "/from",
      () => new web.Response({ status: 307, headers: { Location: "/to" } }),
    );
    app.router.addPost("/to", async (request) =>
      web.jsonResponse({
        text: (await request.read()).toString(),
        encoding: request.headers.get("Content-Encoding") ?? null,
      }),
    );
    const client = await serve(app);
    const resp = await session().post(client.makeUrl("/from"), { data: TEXT, compress: "gzip" });
    expect(await resp.json()).toEqual({ text: TEXT, encoding: "gzip" });
  });
});
