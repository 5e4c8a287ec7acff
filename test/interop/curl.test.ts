// curl, a peer we did not write, calls our server: what it parses is what any HTTP/1.1 client
// sees on the wire.

import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { hasPeer } from "../peers.js";
import {
  COMPRESSIBLE_TEXT,
  curl,
  HELLO_TEXT,
  type InteropServer,
  onlyTransfer,
  SMALL_MAX_SIZE,
  STREAM_CHUNKS,
  startInteropServer,
} from "./helpers.js";

const peersMissing = !hasPeer("curl");

describe.skipIf(peersMissing)("curl calls an aiohttp-ts server", () => {
  let srv: InteropServer;

  beforeAll(async () => {
    srv = await startInteropServer();
  });

  afterAll(async () => {
    await srv?.server.close();
  });

  test("GET gets percent-decoded path params and repeated query keys in order", async () => {
    const t = onlyTransfer(
      await curl({ url: srv.url("/users/j%C3%B6rg/posts/42?tag=a&tag=b&q=hello%20world") }),
    );
    expect(t.status).toBe(200);
    expect(t.headers["content-type"]).toEqual(["application/json; charset=utf-8"]);
    expect(JSON.parse(t.text)).toEqual({
      id: "jörg",
      post: "42",
      query: [
        ["tag", "a"],
        ["tag", "b"],
        ["q", "hello world"],
      ],
    });
  });

  test("a path param that fails its regex answers 404", async () => {
    const t = onlyTransfer(await curl({ url: srv.url("/users/jo/posts/latest") }));
    expect(t.status).toBe(404);
  });

  test("POST of an urlencoded form keeps repeated keys and decodes values", async () => {
    const t = onlyTransfer(
      await curl({
        url: srv.url("/form"),
        args: [
          "--data-urlencode",
          "color=red",
          "--data-urlencode",
          "color=blue",
          "--data-urlencode",
          "note=a&b c=d",
        ],
      }),
    );
    expect(t.status).toBe(200);
    expect(JSON.parse(t.text)).toEqual({
      contentType: "application/x-www-form-urlencoded",
      fields: [
        ["color", "red"],
        ["color", "blue"],
        ["note", "a&b c=d"],
      ],
    });
  });

  test("a JSON body is parsed and a JSON response comes back with its status", async () => {
    const t = onlyTransfer(
      await curl({
        url: srv.url("/json"),
        args: [
          "--header",
          "Content-Type: application/json",
          "--data-binary",
          '{"numbers":[1,2,3.5],"name":"zoë"}',
        ],
      }),
    );
    expect(t.status).toBe(201);
    expect(t.headers["content-type"]).toEqual(["application/json; charset=utf-8"]);
    expect(JSON.parse(t.text)).toEqual({
      received: { numbers: [1, 2, 3.5], name: "zoë" },
      sum: 6.5,
    });
  });

  test("malformed JSON answers 400", async () => {
    const t = onlyTransfer(
      await curl({
        url: srv.url("/json"),
        args: ["--header", "Content-Type: application/json", "--data-binary", "{nope"],
      }),
    );
    expect(t.status).toBe(400);
    expect(t.text).toContain("Malformed JSON");
  });

  test("an unknown path answers 404 with a short text body", async () => {
    const t = onlyTransfer(await curl({ url: srv.url("/no/such/thing") }));
    expect(t.status).toBe(404);
    expect(t.text).toBe("404: Not Found");
  });

  test("a method the resource lacks answers 405 with Allow listing the others", async () => {
    const t = onlyTransfer(await curl({ url: srv.url("/items"), args: ["--request", "PUT"] }));
    expect(t.status).toBe(405);
    expect(t.headers.allow).toEqual(["DELETE,GET,HEAD"]);
  });

  test("HEAD sends Content-Length and no body, so the next response on the connection parses", async () => {
    const run = await curl([
      { url: srv.url("/text"), args: ["--head"] },
      { url: srv.url("/text") },
    ]);
    expect(run.code).toBe(0);
    const [head, get] = run.transfers;
    expect(head?.status).toBe(200);
    expect(head?.info.method).toBe("HEAD");
    expect(head?.headers["content-length"]).toEqual([String(HELLO_TEXT.length)]);
    expect(head?.info.size_download).toBe(0);
    // Stray body bytes after the HEAD answer would corrupt this response on the reused socket.
    expect(get?.info.num_connects).toBe(0);
    expect(get?.status).toBe(200);
    expect(get?.text).toBe(HELLO_TEXT);
  });

  test("two URLs in one invocation reuse one kept-alive connection", async () => {
    const run = await curl({ url: [srv.url("/conn"), srv.url("/conn")], args: ["--verbose"] });
    expect(run.code).toBe(0);
    const [first, second] = run.transfers;
    expect(first?.info.num_connects).toBe(1);
    expect(second?.info.num_connects).toBe(0);
    expect(run.stderr).toMatch(/Re-using existing connection/);
    expect(second?.info.local_port).toBe(first?.info.local_port);
    // The server saw the same client port both times.
    expect(JSON.parse(second?.text ?? "")).toEqual({ remotePort: first?.info.local_port });
    expect(JSON.parse(first?.text ?? "")).toEqual({ remotePort: first?.info.local_port });
  });

  test("a body over clientMaxSize answers 413", async () => {
    const body = "x".repeat(SMALL_MAX_SIZE * 4);
    const run = await curl(
      { url: srv.url("/small/upload"), args: ["--data-binary", "@-"] },
      { input: body },
    );
    const t = onlyTransfer(run);
    expect(t.status).toBe(413);
    expect(t.text).toBe(
      `Maximum request body size ${SMALL_MAX_SIZE} exceeded, actual body size ${body.length}`,
    );
    expect(srv.seen.some((s) => s.path === "/small/upload" && s.status === 413)).toBe(true);
  });

  test("a body far over clientMaxSize still gets its 413, not a connection reset", async () => {
    const body = "x".repeat(8 * 1024 ** 2);
    // "Expect:" switches curl's own 100-continue off, so it starts sending the body at once.
    const run = await curl(
      { url: srv.url("/small/upload"), args: ["--header", "Expect:", "--data-binary", "@-"] },
      { input: body },
    );
    const t = onlyTransfer(run);
    expect(run.code).toBe(0);
    expect(t.status).toBe(413);
  });

  test("a body within clientMaxSize is accepted", async () => {
    const run = await curl(
      { url: srv.url("/small/upload"), args: ["--data-binary", "@-"] },
      { input: "x".repeat(SMALL_MAX_SIZE) },
    );
    const t = onlyTransfer(run);
    expect(t.status).toBe(200);
    expect(JSON.parse(t.text)).toEqual({ length: SMALL_MAX_SIZE });
  });

  test("--compressed gets a brotli body (the server's first choice) that decodes intact", async () => {
    const t = onlyTransfer(await curl({ url: srv.url("/compressed"), args: ["--compressed"] }));
    expect(t.status).toBe(200);
    expect(t.headers["content-encoding"]).toEqual(["br"]);
    expect(t.headers.vary?.join(",").toLowerCase()).toContain("accept-encoding");
    expect(t.text).toBe(COMPRESSIBLE_TEXT);
  });

  test("a client that accepts only gzip gets a gzip body that decodes intact", async () => {
    const t = onlyTransfer(
      await curl({
        url: srv.url("/compressed"),
        args: ["--compressed", "--header", "Accept-Encoding: gzip"],
      }),
    );
    expect(t.headers["content-encoding"]).toEqual(["gzip"]);
    expect(t.text).toBe(COMPRESSIBLE_TEXT);
  });

  test("a client that accepts no coding gets the body as is", async () => {
    const t = onlyTransfer(await curl({ url: srv.url("/compressed") }));
    expect(t.headers["content-encoding"]).toBeUndefined();
    expect(t.headers["content-length"]).toEqual([String(Buffer.byteLength(COMPRESSIBLE_TEXT))]);
    expect(t.text).toBe(COMPRESSIBLE_TEXT);
  });

  test("a StreamResponse without a length arrives chunked and whole", async () => {
    const t = onlyTransfer(await curl({ url: srv.url("/stream") }));
    expect(t.status).toBe(200);
    expect(t.headers["transfer-encoding"]).toEqual(["chunked"]);
    expect(t.headers["content-length"]).toBeUndefined();
    expect(t.text).toBe(STREAM_CHUNKS.join(""));
  });

  test("cookies set by setCookie land in curl's cookie jar and are sent back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-jar-"));
    try {
      const jar = join(dir, "cookies.txt");
      const run = await curl({
        url: [srv.url("/cookies/set"), srv.url("/cookies/echo")],
        args: ["--cookie", "", "--cookie-jar", jar],
      });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.transfers[1]?.text ?? "")).toEqual({
        session: "s3cr3t",
        theme: "dark",
      });
      // Netscape format: domain, subdomains, path, secure, expiry, name, value.
      const lines = (await readFile(jar, "utf8")).split("\n");
      const session = lines.find((l) => l.endsWith("\tsession\ts3cr3t"))?.split("\t");
      const theme = lines.find((l) => l.endsWith("\ttheme\tdark"))?.split("\t");
      expect(session?.[0]).toBe("#HttpOnly_127.0.0.1");
      expect(session?.[2]).toBe("/");
      expect(session?.[4]).toBe("0");
      const expiry = Number(theme?.[4]);
      const inAnHour = Date.now() / 1000 + 3600;
      expect(expiry).toBeGreaterThan(inAnHour - 60);
      expect(expiry).toBeLessThan(inAnHour + 60);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("Expect: 100-continue gets an interim 100 and the body then arrives whole", async () => {
    const body = "0123456789abcdef".repeat(4096);
    const run = await curl(
      {
        url: srv.url("/upload"),
        args: ["--verbose", "--header", "Expect: 100-continue", "--data-binary", "@-"],
      },
      { input: body },
    );
    const t = onlyTransfer(run);
    expect(run.stderr).toMatch(/< HTTP\/1\.1 100 Continue/);
    expect(t.status).toBe(200);
    expect(JSON.parse(t.text)).toEqual({
      length: body.length,
      sha256: createHash("sha256").update(body).digest("hex"),
      expect: "100-continue",
    });
  });

  test("curl's own Expect for a body over 1 MiB is answered and the upload completes", async () => {
    const body = "z".repeat(1024 ** 2 + 512 * 1024);
    const run = await curl(
      { url: srv.url("/upload"), args: ["--verbose", "--data-binary", "@-"] },
      { input: body },
    );
    const t = onlyTransfer(run);
    expect(run.stderr).toMatch(/> Expect: 100-continue/i);
    expect(run.stderr).toMatch(/< HTTP\/1\.1 100 Continue/);
    expect(t.status).toBe(200);
    expect(JSON.parse(t.text)).toMatchObject({ length: body.length, expect: "100-continue" });
  });
});
