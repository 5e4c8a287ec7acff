// Request bodies sent with Content-Encoding are decompressed for content/read()/text()/json()/
// post(), with a cap on the decompressed size: a small gzip bomb gets 413 at once, and the
// connection closes cleanly after it; unknown codings get 415 and corrupt data 400.
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { HAS_ZSTD } from "../../src/http/compression.js";
import { web } from "../../src/index.js";
import { appWith, getRequest, quiet, RawConnection, rawExchange, useRunners } from "../helpers.js";

const start = useRunners();

/** A POST of `body` with `headers`, closing the connection after it unless `keepAlive`. */
function post(body: Buffer, headers: Record<string, string>, keepAlive = false): Buffer {
  let head = `POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (!keepAlive) head += "Connection: close\r\n";
  return Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), body]);
}

async function serve(handler: web.Handler, options: web.ApplicationOptions = {}): Promise<number> {
  // GET is the health check after a refused request.
  const app = appWith((r) => (r.method === "GET" ? new web.Response({ text: "ok" }) : handler(r)), {
    logger: quiet,
    ...options,
  });
  return (await start(app, { accessLog: null })).port;
}

async function exchange(port: number, request: Buffer): Promise<{ status: string; body: string }> {
  const reply = await rawExchange(port, [request], { timeoutMs: 5000, requireClose: true });
  return { status: reply.statusLine, body: reply.rest };
}

async function expectHealthy(port: number): Promise<void> {
  const reply = await rawExchange(port, [getRequest("/")], { requireClose: true });
  expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
}

const JSON_BODY = Buffer.from(JSON.stringify({ greeting: "hello", n: [1, 2, 3] }));

async function zstd(data: Buffer): Promise<Buffer> {
  const zlib = (await import("node:zlib")) as unknown as {
    zstdCompressSync: (data: Buffer) => Buffer;
  };
  return zlib.zstdCompressSync(data);
}

describe("Content-Encoding of request bodies", () => {
  const echoJson: web.Handler = async (r) =>
    web.jsonResponse({ data: await r.json(), contentLength: r.contentLength });

  it.each([
    ["gzip", gzipSync(JSON_BODY)],
    ["x-gzip", gzipSync(JSON_BODY)],
    ["deflate", deflateSync(JSON_BODY)],
    ["deflate", deflateRawSync(JSON_BODY)],
    ["br", brotliCompressSync(JSON_BODY)],
    ["deflate, gzip", gzipSync(deflateSync(JSON_BODY))],
    ["identity", JSON_BODY],
  ])("decodes %s for json(); contentLength stays the wire length", async (coding, wire) => {
    const port = await serve(echoJson);
    const reply = await exchange(port, post(wire, { "Content-Encoding": coding }));
    expect(reply.status).toBe("HTTP/1.1 200 OK");
    expect(JSON.parse(reply.body)).toEqual({
      data: JSON.parse(JSON_BODY.toString()),
      contentLength: wire.length,
    });
  });

  it.runIf(HAS_ZSTD)("decodes zstd when the runtime has it", async () => {
    const port = await serve(echoJson);
    const reply = await exchange(port, post(await zstd(JSON_BODY), { "Content-Encoding": "zstd" }));
    expect(reply.status).toBe("HTTP/1.1 200 OK");
  });

  it("decodes for request.content, text() and post()", async () => {
    const port = await serve(async (r) => {
      if (r.path === "/stream") {
        let total = 0;
        for await (const chunk of r.content.iterAny()) total += chunk.length;
        return web.jsonResponse(total);
      }
      if (r.path === "/form") return web.jsonResponse((await r.post()).getAll("a"));
      return new web.Response({ text: await r.text() });
    });
    const big = Buffer.alloc(300_000, "z");
    const streamed = await exchange(
      port,
      Buffer.from(
        post(gzipSync(big), { "Content-Encoding": "gzip" })
          .toString("latin1")
          .replace("/x", "/stream"),
        "latin1",
      ),
    );
    expect(streamed.body).toBe("300000");
    const text = await exchange(
      port,
      post(brotliCompressSync("plain words"), { "Content-Encoding": "br" }),
    );
    expect(text.body).toBe("plain words");
    const form = post(gzipSync("a=1&a=2"), {
      "Content-Encoding": "gzip",
      "Content-Type": "application/x-www-form-urlencoded",
    });
    const formReply = await exchange(
      port,
      Buffer.from(form.toString("latin1").replace("/x", "/form"), "latin1"),
    );
    expect(JSON.parse(formReply.body)).toEqual(["1", "2"]);
  });

  it("streams a large raw deflate body through request.content in full", async () => {
    const port = await serve(async (r) => {
      let total = 0;
      for await (const chunk of r.content.iterAny()) total += chunk.length;
      return web.jsonResponse(total);
    });
    const data = Buffer.alloc(5 * 1024 ** 2, "abc");
    const reply = await exchange(
      port,
      post(deflateRawSync(data), { "Content-Encoding": "deflate" }),
    );
    expect(reply.body).toBe(String(data.length));
  });

  it("answers an unknown Content-Encoding with 415", async () => {
    const port = await serve(echoJson);
    const reply = await exchange(port, post(JSON_BODY, { "Content-Encoding": "compress" }));
    expect(reply.status).toBe("HTTP/1.1 415 Unsupported Media Type");
    expect(reply.body).toContain("compress");
    await expectHealthy(port);
  });

  it.each([
    ["gzip", Buffer.from("this is not gzip at all")],
    ["gzip", gzipSync(JSON_BODY).subarray(0, 20)],
    ["br", Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00])],
  ])("answers corrupt %s data with 400", async (coding, wire) => {
    const port = await serve(echoJson);
    const reply = await exchange(port, post(wire, { "Content-Encoding": coding }));
    expect(reply.status).toBe("HTTP/1.1 400 Bad Request");
    await expectHealthy(port);
  });
});

describe("decompression bombs", () => {
  // 50 MiB of zeros: about 50 KiB on the wire.
  const bomb = gzipSync(Buffer.alloc(50 * 1024 ** 2));

  const zeros = Buffer.alloc(50 * 1024 ** 2);
  const bombs: [string, string, Buffer][] = [
    ["gzip", "gzip", bomb],
    ["deflate", "deflate", deflateSync(zeros)],
    ["raw deflate", "deflate", deflateRawSync(zeros)],
    ["br", "br", brotliCompressSync(zeros)],
  ];

  it.each(bombs)(
    "read() answers a %s bomb with 413 at clientMaxSize (1 MiB) without inflating the rest",
    async (_kind, coding, wire) => {
      const port = await serve(async (r) => new web.Response({ body: await r.read() }));
      const before = process.memoryUsage().arrayBuffers;
      const t0 = performance.now();
      const reply = await exchange(port, post(wire, { "Content-Encoding": coding }));
      expect(reply.status).toBe("HTTP/1.1 413 Request Entity Too Large");
      expect(reply.body).toContain("Decompressed request body larger than 1048576 bytes");
      expect(performance.now() - t0).toBeLessThan(3000);
      // Inflating it all would have gone through 50 MiB of buffers.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 ** 2);
      await expectHealthy(port);
    },
  );

  it("post() and json() answer 413 too", async () => {
    const port = await serve(async (r) =>
      r.path === "/x" ? web.jsonResponse(await r.json()) : web.jsonResponse((await r.post()).size),
    );
    expect((await exchange(port, post(bomb, { "Content-Encoding": "gzip" }))).status).toMatch(
      / 413 /,
    );
    const form = post(bomb, {
      "Content-Encoding": "gzip",
      "Content-Type": "application/x-www-form-urlencoded",
    });
    const formReply = await exchange(
      port,
      Buffer.from(form.toString("latin1").replace("/x", "/f"), "latin1"),
    );
    expect(formReply.status).toMatch(/ 413 /);
  });

  it("request.content stops at maxDecompressSize with 413", async () => {
    let seen = 0;
    const port = await serve(
      async (r) => {
        for await (const chunk of r.content.iterAny()) seen += chunk.length;
        return web.jsonResponse(seen);
      },
      { maxDecompressSize: 4 * 1024 ** 2 },
    );
    const reply = await exchange(port, post(bomb, { "Content-Encoding": "gzip" }));
    expect(reply.status).toBe("HTTP/1.1 413 Request Entity Too Large");
    expect(seen).toBeLessThanOrEqual(4 * 1024 ** 2);
    expect(seen).toBeGreaterThan(3 * 1024 ** 2);
  });

  it("request.content has a 32 MiB cap by default", async () => {
    let seen = 0;
    const port = await serve(async (r) => {
      for await (const chunk of r.content.iterAny()) seen += chunk.length;
      return web.jsonResponse(seen);
    });
    const reply = await exchange(port, post(bomb, { "Content-Encoding": "gzip" }));
    expect(reply.status).toBe("HTTP/1.1 413 Request Entity Too Large");
    expect(seen).toBeLessThanOrEqual(32 * 1024 ** 2);
  });

  it("after a 413 on a keep-alive connection the server closes it cleanly", async () => {
    const port = await serve(async (r) => new web.Response({ body: await r.read() }));
    const conn = await RawConnection.open(port);
    conn.write(post(bomb, { "Content-Encoding": "gzip" }, true));
    expect(await conn.closesWithin(3000)).toBe(true);
    expect(conn.data).toMatch(/^HTTP\/1\.1 413 /);
    expect(conn.data).toMatch(/\r\nConnection: close\r\n/i);
    await expectHealthy(port);
  });
});
