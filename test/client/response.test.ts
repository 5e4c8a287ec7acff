// ClientResponse over real sockets: attributes, body reading and decoding, decompression and its
// limits, the streaming content API, releasing connections, and response header limits.
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as zlib from "node:zlib";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  CIMultiDictProxy,
  ClientPayloadError,
  ClientResponseError,
  type ClientSession,
  ConnectionTimeoutError,
  ContentTypeError,
  CookieJar,
  IncompleteReadError,
  ServerTimeoutError,
  TCPConnector,
  web,
} from "../../src/index.js";
import { useSessions, useTestClients, warmUpClient } from "../helpers.js";

// Several tests here give a request a total of 200-300 ms to succeed in.
beforeAll(warmUpClient);

const serve = useTestClients();

const session = useSessions();

const servers: Array<Server | NetServer> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if ("closeAllConnections" in s) s.closeAllConnections();
    s.close();
  }
});

/** A raw node:http server answering with `handler`; returns its base URL. */
async function httpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<string> {
  const server = createHttpServer((req, res) => {
    void handler(req, res);
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A server that answers every request with `body` (and its Content-Length) under `headers`. */
function fixed(headers: Record<string, string | string[] | number>, body: Buffer | string = "") {
  return httpServer((_req, res) => {
    res.writeHead(200, { "Content-Length": Buffer.byteLength(body), ...headers });
    res.end(body);
  });
}

/** A raw TCP server that writes `raw` to every connection once a request head arrived. */
async function rawServer(raw: string | Buffer): Promise<string> {
  const server = createNetServer((socket) => {
    socket.on("error", () => {});
    let head = "";
    socket.on("data", (d) => {
      head += d.toString("latin1");
      if (head.includes("\r\n\r\n")) socket.end(raw);
    });
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Deterministic bytes at `offset`..`offset + length` of a test payload. */
function pattern(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 131 + 17) & 0xff;
  return out;
}

// Long enough for a statistical detector; encoded offline (Python's codecs).
const CYRILLIC =
  "Мороз и солнце; день чудесный! Еще ты дремлешь, друг прелестный — пора, красавица, проснись: открой сомкнуты негой взоры навстречу северной Авроры, звездою севера явись!";
const CYRILLIC_1251 = Buffer.from(
  "zO7w7ucg6CDx7uvt9uU7IOTl7fwg9/Pk5fHt++khIMX55SDy+yDk8OXs6+X4/Cwg5PDz4yDv8OXr5fHy7fvpIJcg7+7w4Cwg6vDg8eDi6PbgLCDv8O7x7ejx/Dog7vLq8O7pIPHu7Ort8/L7IO3l4+7pIOLn7vD7IO3g4vHy8OX38yDx5eLl8O3u6SDA4vDu8PssIOfi5efk7v4g8eXi5fDgIP/i6PH8IQ==",
  "base64",
);
const JAPANESE =
  "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。しかもあとで聞くとそれは書生という人間中で一番獰悪な種族であったそうだ。";
const JAPANESE_SJIS = Buffer.from(
  "jOGUeYLNlEyCxYKggumBQpa8kU+CzYLcgr6Ws4KigUKCx4KxgsWQtoLqgr2CqYLGgvGCxoypk5aCqoLCgqmCyoFCib2CxYLglJaIw4KigraC34K2gt+CtYK9j4qCxYNqg4OBW4Nqg4OBW4uDgqKCxIKigr2OloK+gq+CzYtMia+CtYLEgqKC6YFCjOGUeYLNgrGCsYLFjm6C34LEkGyK1ILGgqKCpILggsyC8Iypgr2BQoK1gqmC4IKggsaCxZW3gq2CxoK7guqCzY+RkLaCxoKigqSQbIrUkoaCxYjqlNTg1oirgsiO7ZGwgsWCoILBgr2Cu4Kkgr6BQg==",
  "base64",
);

describe("attributes", () => {
  async function richServer(): Promise<string> {
    return httpServer((req, res) => {
      res.statusCode = 201;
      res.statusMessage = "Created Just Now";
      res.setHeader("Content-Type", "text/plain; charset=iso-8859-1");
      res.setHeader("X-Rep", ["a", "b"]);
      res.setHeader("Set-Cookie", ["one=1; Path=/", "two=2; HttpOnly"]);
      res.setHeader(
        "Link",
        '<https://api.example/items?page=2>; rel="next", <https://api.example/items?page=9>; rel="last", </items?page=1>; rel=first; title="a, b; c"',
      );
      res.end(req.method === "HEAD" ? undefined : Buffer.from("café", "latin1"));
    });
  }

  test("status, reason, ok, method, url and realUrl", async () => {
    const base = await richServer();
    const resp = await session().post(`${base}/thing?x=1#frag`);
    expect(resp.status).toBe(201);
    expect(resp.reason).toBe("Created Just Now");
    expect(resp.ok).toBe(true);
    expect(resp.method).toBe("POST");
    expect(resp.url.href).toBe(`${base}/thing?x=1`);
    expect(resp.realUrl.href).toBe(`${base}/thing?x=1#frag`);
    await resp.release();
  });

  test("headers are a case-insensitive CIMultiDictProxy that keeps repeated headers", async () => {
    const base = await richServer();
    const resp = await session().get(base);
    expect(resp.headers).toBeInstanceOf(CIMultiDictProxy);
    expect(resp.headers.get("content-TYPE")).toBe("text/plain; charset=iso-8859-1");
    expect(resp.headers.getAll("X-Rep")).toEqual(["a", "b"]);
    expect(resp.headers.getAll("set-cookie")).toHaveLength(2);
    expect(resp.rawHeaders).toContainEqual(["x-rep", "a"]);
    expect(resp.rawHeaders).toContainEqual(["x-rep", "b"]);
    await resp.release();
  });

  test("contentType, charset and contentLength come from the headers", async () => {
    const base = await richServer();
    const resp = await session().get(base);
    expect(resp.contentType).toBe("text/plain");
    expect(resp.charset).toBe("iso-8859-1");
    expect(resp.contentLength).toBe(4);
    expect(await resp.text()).toBe("café");
  });

  test("contentType defaults to application/octet-stream and contentLength may be absent", async () => {
    const base = await httpServer((_req, res) => {
      res.removeHeader("Content-Type");
      res.write("chunked");
      res.end();
    });
    const resp = await session().get(base);
    expect(resp.contentType).toBe("application/octet-stream");
    expect(resp.charset).toBeUndefined();
    expect(resp.contentLength).toBeUndefined();
    expect(await resp.text()).toBe("chunked");
  });

  test("cookies holds the cookies the response sets, by name", async () => {
    const base = await richServer();
    const resp = await session().get(base);
    expect([...resp.cookies.keys()]).toEqual(["one", "two"]);
    expect(resp.cookies.get("one")?.value).toBe("1");
    expect(resp.cookies.get("two")?.httpOnly).toBe(true);
    await resp.release();
  });

  test("links parses a Link header with several links, by rel, resolving relative URLs", async () => {
    const base = await richServer();
    const resp = await session().get(`${base}/items`);
    const links = resp.links;
    expect([...links.keys()]).toEqual(["next", "last", "first"]);
    expect(links.get("next")?.url.href).toBe("https://api.example/items?page=2");
    expect(links.get("last")?.url.searchParams.get("page")).toBe("9");
    expect(links.get("first")?.url.href).toBe(`${base}/items?page=1`);
    expect(links.get("first")?.params.title).toBe("a, b; c");
    await resp.release();
  });

  test("links is empty without a Link header", async () => {
    const base = await fixed({});
    const resp = await session().get(base);
    expect(resp.links.size).toBe(0);
    await resp.release();
  });

  test("requestInfo tells what was sent; history is empty without redirects", async () => {
    const base = await richServer();
    const resp = await session().put(`${base}/r`, { headers: { "X-Q": "1" } });
    expect(resp.requestInfo.method).toBe("PUT");
    expect(resp.requestInfo.url.href).toBe(`${base}/r`);
    expect(resp.requestInfo.realUrl.href).toBe(`${base}/r`);
    expect(resp.requestInfo.headers.get("X-Q")).toBe("1");
    expect(resp.history).toEqual([]);
    await resp.release();
  });

  test("history holds the redirect responses, oldest first", async () => {
    const base = await httpServer((req, res) => {
      if (req.url === "/a") res.writeHead(301, { Location: "/b" });
      else if (req.url === "/b") res.writeHead(302, { Location: "/c" });
      res.end(req.url);
    });
    const resp = await session().get(`${base}/a`);
    expect(resp.history.map((h) => [h.status, h.url.pathname])).toEqual([
      [301, "/a"],
      [302, "/b"],
    ]);
    expect(resp.url.pathname).toBe("/c");
    expect(await resp.text()).toBe("/c");
  });

  test("toString names the URL and status", async () => {
    const base = await fixed({});
    const resp = await session().get(`${base}/s`);
    expect(String(resp)).toBe(`<ClientResponse(${base}/s) [200 OK]>`);
    await resp.release();
  });
});

describe("read and text", () => {
  test("read() returns the body as a Buffer and caches it", async () => {
    const body = pattern(0, 100_000);
    const resp = await session().get(await fixed({}, body));
    const first = await resp.read();
    expect(Buffer.isBuffer(first)).toBe(true);
    expect(sha256(first)).toBe(sha256(body));
    expect(await resp.read()).toBe(first);
  });

  test("text() decodes with the charset of Content-Type", async () => {
    const base = await fixed({ "Content-Type": "text/plain; charset=windows-1251" }, CYRILLIC_1251);
    expect(await (await session().get(base)).text()).toBe(CYRILLIC);
  });

  test("text() decodes UTF-8 by default", async () => {
    const base = await fixed({ "Content-Type": "text/plain" }, "Grüße, 世界 🎉");
    expect(await (await session().get(base)).text()).toBe("Grüße, 世界 🎉");
  });

  test("text() honours a UTF-8 byte-order mark and drops it", async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("Ünïcödé")]);
    const base = await fixed({ "Content-Type": "text/plain" }, body);
    expect(await (await session().get(base)).text()).toBe("Ünïcödé");
  });

  test("text() honours a UTF-16LE byte-order mark", async () => {
    const body = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("wide text ✓", "utf16le")]);
    const base = await fixed({ "Content-Type": "text/plain" }, body);
    expect(await (await session().get(base)).text()).toBe("wide text ✓");
  });

  test("text() detects windows-1251 Cyrillic without a charset", async () => {
    const base = await fixed({ "Content-Type": "text/plain" }, CYRILLIC_1251);
    expect(await (await session().get(base)).text()).toBe(CYRILLIC);
  });

  test("text() detects Shift_JIS Japanese without a charset", async () => {
    const base = await fixed({ "Content-Type": "text/html" }, JAPANESE_SJIS);
    expect(await (await session().get(base)).text()).toBe(JAPANESE);
  });

  test("text(encoding) overrides the declared charset", async () => {
    const base = await fixed({ "Content-Type": "text/plain; charset=iso-8859-1" }, "naïve ☃");
    const resp = await session().get(base);
    expect(await resp.text("utf-8")).toBe("naïve ☃");
  });

  test("text() with a charset label nobody knows detects the charset instead", async () => {
    const base = await fixed({ "Content-Type": "text/plain; charset=x-made-up" }, CYRILLIC_1251);
    expect(await (await session().get(base)).text()).toBe(CYRILLIC);
  });

  test("text(encoding) with an unknown encoding throws ClientPayloadError", async () => {
    const base = await fixed({ "Content-Type": "text/plain" }, "x");
    await expect((await session().get(base)).text("no-such-thing")).rejects.toBeInstanceOf(
      ClientPayloadError,
    );
  });
});

describe("json", () => {
  test("json() parses an application/json body", async () => {
    const base = await fixed({ "Content-Type": "application/json" }, '{"a":[1,"é"]}');
    expect(await (await session().get(base)).json()).toEqual({ a: [1, "é"] });
  });

  test("json() accepts +json media types", async () => {
    const base = await fixed({ "Content-Type": "application/problem+json" }, '{"title":"x"}');
    expect(await (await session().get(base)).json()).toEqual({ title: "x" });
  });

  test("json() of an empty body is null", async () => {
    const base = await fixed({ "Content-Type": "application/json" }, "");
    expect(await (await session().get(base)).json()).toBeNull();
  });

  test("json() on text/html throws ContentTypeError naming the type", async () => {
    const base = await fixed({ "Content-Type": "text/html" }, "<h1>not json</h1>");
    const resp = await session().get(`${base}/page`);
    const err = await resp.json().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentTypeError);
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as ContentTypeError).reason).toContain("text/html");
    expect((err as ContentTypeError).requestInfo.url.pathname).toBe("/page");
    expect((err as ContentTypeError).status).toBe(200);
  });

  test("json({ contentType: null }) parses whatever the type", async () => {
    const base = await fixed({ "Content-Type": "text/html" }, "[1,2]");
    expect(await (await session().get(base)).json({ contentType: null })).toEqual([1, 2]);
  });

  test("json({ contentType }) demands that exact type", async () => {
    const base = await fixed({ "Content-Type": "text/x-json" }, "[3]");
    expect(await (await session().get(base)).json({ contentType: "text/x-json" })).toEqual([3]);
    const again = await session().get(base);
    await expect(again.json({ contentType: "application/json" })).rejects.toBeInstanceOf(
      ContentTypeError,
    );
  });

  test("json({ loads }) uses the given parser", async () => {
    const base = await fixed({ "Content-Type": "application/json" }, '{"n":12345678901234567890}');
    const parsed = await (await session().get(base)).json({
      loads: (text) => ({ raw: text }),
    });
    expect(parsed).toEqual({ raw: '{"n":12345678901234567890}' });
  });

  test("json() with invalid JSON rejects with the parser's error", async () => {
    const base = await fixed({ "Content-Type": "application/json" }, "{nope");
    await expect((await session().get(base)).json()).rejects.toBeInstanceOf(SyntaxError);
  });
});

describe("decompression", () => {
  const text = "The quick brown fox jumps over the lazy dog. ".repeat(2000);

  test.each([
    ["gzip", zlib.gzipSync(text)],
    ["x-gzip", zlib.gzipSync(text)],
    ["deflate", zlib.deflateSync(text)],
    ["deflate", zlib.deflateRawSync(text)],
    ["br", zlib.brotliCompressSync(text)],
  ])("a %s body is decompressed", async (encoding, body) => {
    const base = await fixed({ "Content-Encoding": encoding, "Content-Type": "text/plain" }, body);
    const resp = await session().get(base);
    expect(resp.contentLength).toBe(body.length);
    expect(await resp.text()).toBe(text);
  });

  test("a gzip body streamed in small chunks is decompressed", async () => {
    const gz = zlib.gzipSync(text);
    const base = await httpServer(async (_req, res) => {
      res.writeHead(200, { "Content-Encoding": "gzip" });
      for (let i = 0; i < gz.length; i += 100) {
        res.write(gz.subarray(i, i + 100));
        if (i % 1000 === 0) await sleep(1);
      }
      res.end();
    });
    expect(await (await session().get(base)).text()).toBe(text);
  });

  test("an unknown Content-Encoding is passed through as is", async () => {
    const base = await fixed({ "Content-Encoding": "x-custom" }, "raw bytes");
    expect(await (await session().get(base)).text()).toBe("raw bytes");
  });

  test("a corrupt gzip body throws ClientPayloadError", async () => {
    const corrupt = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
      pattern(0, 500),
    ]);
    const base = await fixed({ "Content-Encoding": "gzip" }, corrupt);
    const err = await (await session().get(base)).read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientPayloadError);
    expect((err as Error).message).toContain("decode");
  });

  test("a body that is not gzip at all but says so throws ClientPayloadError", async () => {
    const base = await fixed({ "Content-Encoding": "gzip" }, "plain text, not gzip");
    await expect((await session().get(base)).text()).rejects.toBeInstanceOf(ClientPayloadError);
  });

  test("a truncated gzip body (complete HTTP message, cut gzip stream) throws ClientPayloadError", async () => {
    const gz = zlib.gzipSync(pattern(0, 200_000));
    const base = await fixed({ "Content-Encoding": "gzip" }, gz.subarray(0, gz.length - 12));
    await expect((await session().get(base)).read()).rejects.toBeInstanceOf(ClientPayloadError);
  });

  test("a truncated raw deflate body throws ClientPayloadError", async () => {
    const deflated = zlib.deflateRawSync(pattern(0, 200_000));
    const base = await fixed(
      { "Content-Encoding": "deflate" },
      deflated.subarray(0, Math.floor(deflated.length / 2)),
    );
    await expect((await session().get(base)).read()).rejects.toBeInstanceOf(ClientPayloadError);
  });

  test("a gzip body cut short by the server closing throws ClientPayloadError", async () => {
    const gz = zlib.gzipSync(pattern(0, 200_000));
    const base = await httpServer((_req, res) => {
      res.writeHead(200, { "Content-Encoding": "gzip", "Content-Length": gz.length });
      res.write(gz.subarray(0, 1000), () => res.destroy());
    });
    await expect((await session().get(base)).read()).rejects.toBeInstanceOf(ClientPayloadError);
  });

  /**
   * `megabytes` MiB of zeros, gzip- or zlib-compressed in pieces so that the inflated data
   * never exists in memory (it would blur the memory measurements).
   */
  async function gzipBomb(megabytes: number, kind: "gzip" | "deflate" = "gzip"): Promise<Buffer> {
    const gz = kind === "gzip" ? zlib.createGzip({ level: 9 }) : zlib.createDeflate({ level: 9 });
    const out: Buffer[] = [];
    gz.on("data", (d: Buffer) => out.push(d));
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < megabytes; i++) {
      if (!gz.write(zeros)) await once(gz, "drain");
    }
    gz.end();
    await once(gz, "end");
    return Buffer.concat(out);
  }

  test("a zip bomb over maxDecompressedSize fails cleanly with bounded memory", async () => {
    const bomb = await gzipBomb(300);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const base = await fixed({ "Content-Encoding": "gzip" }, bomb);
    const before = process.memoryUsage().rss;
    const resp = await session({ maxDecompressedSize: 8 * 1024 * 1024 }).get(base);
    const err = await resp.read().catch((e: unknown) => e);
    const grown = process.memoryUsage().rss - before;
    expect(err).toBeInstanceOf(ClientPayloadError);
    expect((err as Error).message).toMatch(/larger than 8388608 bytes/);
    expect(grown).toBeLessThan(100 * 1024 * 1024);
    expect(resp.closed).toBe(true);
  });

  test("the default limit (256 MiB) stops a 300 MiB zip bomb read in chunks", async () => {
    const bomb = await gzipBomb(300);
    const base = await fixed({ "Content-Encoding": "gzip" }, bomb);
    const before = process.memoryUsage().rss;
    let inflated = 0;
    let peak = 0;
    const resp = await session().get(base);
    const err = await (async () => {
      for await (const chunk of resp.content.iterAny()) {
        inflated += chunk.length;
        peak = Math.max(peak, process.memoryUsage().rss - before);
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientPayloadError);
    expect(inflated).toBeLessThanOrEqual(256 * 1024 * 1024);
    expect(inflated).toBeGreaterThan(200 * 1024 * 1024);
    expect(peak).toBeLessThan(150 * 1024 * 1024);
  });

  test.each(["gzip", "deflate"] as const)(
    "a slow reader of a %s body does not make the decoder inflate ahead of it",
    async (kind) => {
      const compressed = await gzipBomb(200, kind);
      const base = await fixed({ "Content-Encoding": kind }, compressed);
      const resp = await session({ maxDecompressedSize: null }).get(base);
      const before = process.memoryUsage().arrayBuffers;
      const first = await resp.content.readany();
      await sleep(300);
      const grown = process.memoryUsage().arrayBuffers - before;
      expect(first.length).toBeGreaterThan(0);
      // One 64 KiB input chunk of zeros inflates to 64 MiB: far less may be held.
      expect(grown).toBeLessThan(8 * 1024 * 1024);
      resp.close();
    },
  );

  test("autoDecompress false with a gzip body returns the compressed bytes", async () => {
    const gz = zlib.gzipSync(text);
    const base = await fixed({ "Content-Encoding": "gzip" }, gz);
    const body = await (await session({ autoDecompress: false }).get(base)).read();
    expect(body.equals(gz)).toBe(true);
  });
});

describe("content (streaming)", () => {
  const lines = "first line\nsecond\n\nlast without newline";

  test("read(n) returns at most n bytes, then the rest, then empty at EOF", async () => {
    const resp = await session().get(await fixed({}, "0123456789"));
    const a = await resp.content.read(4);
    expect(a.length).toBeLessThanOrEqual(4);
    expect(a.length).toBeGreaterThan(0);
    const rest = await resp.content.read();
    expect(Buffer.concat([a, rest]).toString()).toBe("0123456789");
    expect((await resp.content.read(4)).length).toBe(0);
  });

  test("readany() returns what is buffered, and empty at EOF", async () => {
    const resp = await session().get(await fixed({}, "abc"));
    expect((await resp.content.readany()).toString()).toBe("abc");
    expect((await resp.content.readany()).length).toBe(0);
  });

  test("readline() returns lines with their newline", async () => {
    const resp = await session().get(await fixed({}, lines));
    const got: string[] = [];
    for (;;) {
      const line = await resp.content.readline();
      if (line.length === 0) break;
      got.push(line.toString());
    }
    expect(got).toEqual(["first line\n", "second\n", "\n", "last without newline"]);
  });

  test("readexactly(n) returns n bytes and throws IncompleteReadError past the end", async () => {
    const resp = await session().get(await fixed({}, "abcdefg"));
    expect((await resp.content.readexactly(3)).toString()).toBe("abc");
    const err = await resp.content.readexactly(10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompleteReadError);
    expect((err as IncompleteReadError).partial.toString()).toBe("defg");
  });

  test("iterChunked(n) yields n-byte pieces, the last one shorter", async () => {
    const resp = await session().get(await fixed({}, pattern(0, 10_000)));
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const piece of resp.content.iterChunked(3000)) {
      sizes.push(piece.length);
      parts.push(piece);
    }
    expect(sizes).toEqual([3000, 3000, 3000, 1000]);
    expect(Buffer.concat(parts).equals(pattern(0, 10_000))).toBe(true);
  });

  test("iterAny() yields the data as it arrives", async () => {
    const base = await httpServer(async (_req, res) => {
      res.writeHead(200);
      for (const part of ["one", "two", "three"]) {
        res.write(part);
        await sleep(30);
      }
      res.end();
    });
    const resp = await session().get(base);
    const got: string[] = [];
    for await (const chunk of resp.content.iterAny()) got.push(chunk.toString());
    expect(got.join("")).toBe("onetwothree");
    expect(got.length).toBeGreaterThanOrEqual(2);
  });

  test("for await over content yields lines", async () => {
    const resp = await session().get(await fixed({}, lines));
    const got: string[] = [];
    for await (const line of resp.content) got.push(line.toString());
    expect(got).toEqual(["first line\n", "second\n", "\n", "last without newline"]);
  });

  test("a 20 MB download streams to a file in chunks with a bounded buffer", async () => {
    const size = 20 * 1024 * 1024;
    let serverWrote = 0;
    const base = await httpServer(async (_req, res) => {
      res.writeHead(200, { "Content-Length": size });
      for (let off = 0; off < size; off += 256 * 1024) {
        const piece = pattern(off, Math.min(256 * 1024, size - off));
        serverWrote += piece.length;
        if (!res.write(piece)) await once(res, "drain");
      }
      res.end();
    });
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-dl-"));
    try {
      const file = join(dir, "download.bin");
      const readBufsize = 64 * 1024;
      const resp = await session({ readBufsize }).get(base);
      // Nobody reads for a while: the server must be held back, not the client fill up.
      await sleep(300);
      const aheadWhileIdle = serverWrote;
      const out = createWriteStream(file);
      let consumed = 0;
      let maxBuffered = 0;
      for await (const chunk of resp.content.iterChunked(32 * 1024)) {
        consumed += chunk.length;
        maxBuffered = Math.max(maxBuffered, resp.content.totalBytes - consumed);
        if (!out.write(chunk)) await once(out, "drain");
      }
      out.end();
      await once(out, "finish");
      expect(consumed).toBe(size);
      expect((await stat(file)).size).toBe(size);
      const hash = createHash("sha256");
      for await (const c of createReadStream(file)) hash.update(c as Buffer);
      expect(hash.digest("hex")).toBe(sha256(pattern(0, size)));
      // The reader holds at most its high-water mark plus one socket read at any time.
      expect(maxBuffered).toBeLessThan(readBufsize + 1024 * 1024);
      // Backpressure reached the server: it could not push the whole body while idle.
      expect(aheadWhileIdle).toBeLessThan(size);
      expect(resp.closed).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("releasing connections", () => {
  /** A server that answers each request with the client's port, and a big body on /big. */
  async function portServer(): Promise<string> {
    return httpServer((req, res) => {
      const port = String(req.socket.remotePort);
      if (req.url === "/big") {
        res.writeHead(200, { "X-Port": port, "Content-Length": 8 * 1024 * 1024 });
        res.end(Buffer.alloc(8 * 1024 * 1024));
      } else {
        res.writeHead(200, { "X-Port": port, "Content-Type": "text/plain" });
        res.end(`port ${port}`);
      }
    });
  }

  test("reading the whole body gives the connection back for the next request", async () => {
    const base = await portServer();
    const s = session();
    const first = await s.get(`${base}/a`);
    await first.text();
    expect(first.closed).toBe(true);
    const second = await s.get(`${base}/b`);
    expect(second.headers.get("X-Port")).toBe(first.headers.get("X-Port"));
    await second.read();
  });

  test("release() of an unread short body drains it and the connection is reused", async () => {
    const base = await portServer();
    const s = session();
    const first = await s.get(`${base}/a`);
    await first.release();
    expect(first.closed).toBe(true);
    const second = await s.get(`${base}/b`);
    expect(second.headers.get("X-Port")).toBe(first.headers.get("X-Port"));
    await second.read();
  });

  test("reading after release() throws ClientPayloadError", async () => {
    const base = await portServer();
    const resp = await session().get(`${base}/a`);
    await resp.release();
    await expect(resp.read()).rejects.toBeInstanceOf(ClientPayloadError);
  });

  test("release() of a large unread body closes that connection; the next request uses a new one", async () => {
    const base = await portServer();
    const s = session();
    const first = await s.get(`${base}/big`);
    await first.release();
    const second = await s.get(`${base}/b`);
    expect(second.headers.get("X-Port")).not.toBe(first.headers.get("X-Port"));
    await second.read();
  });

  test("close() drops the connection at once", async () => {
    const base = await portServer();
    const s = session();
    const first = await s.get(`${base}/a`);
    first.close();
    expect(first.closed).toBe(true);
    const second = await s.get(`${base}/b`);
    expect(second.headers.get("X-Port")).not.toBe(first.headers.get("X-Port"));
    await second.read();
  });

  test("await using releases the response at the end of the block", async () => {
    const base = await portServer();
    const connector = new TCPConnector({ limit: 1 });
    const s = session({ connector });
    let kept: Awaited<ReturnType<ClientSession["get"]>> | undefined;
    {
      await using resp = await s.get(`${base}/a`);
      kept = resp;
      expect(connector.active).toBe(1);
    }
    expect(kept.closed).toBe(true);
    expect(connector.active).toBe(0);
  });

  test("a response dropped unread holds its slot until the total timeout frees it", async () => {
    // A body that never ends: only the total timeout can end the dropped response.
    const base = await httpServer((req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      if (req.url === "/endless") res.write("a start, and nothing more");
      else res.end("small");
    });
    const connector = new TCPConnector({ limit: 1 });
    const s = session({ connector, timeout: { total: 300 } });
    // The clock starts before the first request, as its total timer does: a first response
    // slow to arrive on a busy machine used to eat into the wait measured from after it.
    const t0 = performance.now();
    await s.get(`${base}/endless`); // dropped without reading or releasing
    expect(connector.active).toBe(1);
    // The slot only frees when the total timer fires; otherwise this one's 5 s total fails it.
    const next = await s.get(`${base}/small`, { timeout: { total: 5000 } });
    expect(await next.text()).toBe("small");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });

  test("a dropped response whose short body was fully received is freed by the total timeout too", async () => {
    const base = await portServer();
    const connector = new TCPConnector({ limit: 1 });
    const s = session({ connector, timeout: { total: 300 } });
    await s.get(`${base}/a`); // complete on the wire, never read by the caller
    await sleep(50);
    const next = await s.get(`${base}/b`, { timeout: { total: 5000 } });
    expect(await next.text()).toMatch(/^port \d+$/);
  });

  test("without a total timeout a dropped response keeps its slot: the next request waits", async () => {
    const base = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write("never ends");
    });
    const connector = new TCPConnector({ limit: 1 });
    const s = session({ connector, timeout: { total: null } });
    await s.get(`${base}/endless`);
    const err = await s
      .get(`${base}/other`, { timeout: { connect: 200 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionTimeoutError);
    expect(connector.active).toBe(1);
    await s.close();
  });

  test("the total timeout also covers reading the body", async () => {
    const base = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write("slow");
    });
    const resp = await session({ timeout: { total: 200 } }).get(base);
    await expect(resp.read()).rejects.toBeInstanceOf(ServerTimeoutError);
  });
});

describe("bodies delimited by the connection closing", () => {
  const closeDelimited = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nread until the end";

  test("are read until the server closes (readUntilEof defaults to true)", async () => {
    const base = await rawServer(closeDelimited);
    expect(await (await session().get(base)).text()).toBe("read until the end");
  });

  test("readUntilEof: false treats them as empty", async () => {
    const base = await rawServer(closeDelimited);
    const resp = await session().get(base, { readUntilEof: false });
    expect((await resp.read()).length).toBe(0);
    expect(resp.closed).toBe(true);
  });
});

describe("response header limits", () => {
  function head(headerCount: number): string {
    let out = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n";
    for (let i = 1; i < headerCount; i++) out += `X-H${i}: v\r\n`;
    return `${out}\r\nok`;
  }

  test("128 header fields are accepted", async () => {
    const base = await rawServer(head(128));
    const resp = await session().get(base);
    expect(resp.headers.size).toBe(128);
    expect(await resp.text()).toBe("ok");
  });

  test("129 header fields are a clear ClientResponseError", async () => {
    const base = await rawServer(head(129));
    const err = await session()
      .get(base)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as Error).message).toMatch(/Too many headers: 129 \(at most 128\)/);
    expect((err as ClientResponseError).status).toBe(400);
  });

  test("a header line of exactly 8190 bytes is accepted", async () => {
    const value = "v".repeat(8190 - "X-Long: ".length);
    const base = await rawServer(
      `HTTP/1.1 200 OK\r\nX-Long: ${value}\r\nContent-Length: 0\r\n\r\n`,
    );
    const resp = await session().get(base);
    expect(resp.headers.get("X-Long")).toBe(value);
  });

  test("a header line over 8190 bytes is a clear ClientResponseError", async () => {
    const value = "v".repeat(8191 - "X-Long: ".length);
    const base = await rawServer(
      `HTTP/1.1 200 OK\r\nX-Long: ${value}\r\nContent-Length: 0\r\n\r\n`,
    );
    const err = await session()
      .get(base)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientResponseError);
    expect((err as Error).message).toMatch(/more than 8190 bytes when reading header x-long/i);
  });

  test("a refused response head gives its connection slot back", async () => {
    const base = await rawServer(head(129));
    const connector = new TCPConnector({ limit: 1 });
    const s = session({ connector });
    await expect(s.get(base)).rejects.toThrow(/Too many headers/);
    expect(connector.active).toBe(0);
    await expect(s.get(base, { timeout: { connect: 500 } })).rejects.toThrow(/Too many headers/);
  });

  test("maxHeaders and maxFieldSize are settable on the session", async () => {
    const base = await rawServer(head(10));
    await expect(session({ maxHeaders: 9 }).get(base)).rejects.toThrow(/Too many headers: 10/);
    const ok = await session({ maxHeaders: 10, maxFieldSize: 100 }).get(base);
    expect(ok.status).toBe(200);
  });
});

describe("cookies on the response", () => {
  test("the session's jar stores the response's cookies", async () => {
    const app = new web.Application();
    app.router.addGet("/", () => {
      const r = new web.Response({ text: "x" });
      r.setCookie("k", "v");
      return r;
    });
    const client = await serve(app);
    const jar = new CookieJar({ unsafe: true });
    const resp = await session({ cookieJar: jar }).get(client.server.makeUrl("/"));
    expect(resp.cookies.get("k")?.value).toBe("v");
    expect(jar.size).toBe(1);
    await resp.release();
  });
});
