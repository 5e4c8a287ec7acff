// Python's aiohttp client (the library this project ports) calls our server: the two must agree
// on the wire, including keep-alive, cookies, compression and chunked bodies.

import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { hasPeer } from "../peers.js";
import {
  aiohttpClient,
  aiohttpRequest,
  COMPRESSIBLE_TEXT,
  HELLO_TEXT,
  type InteropServer,
  pyHeaders,
  SMALL_MAX_SIZE,
  STREAM_CHUNKS,
  startInteropServer,
} from "./helpers.js";

const peersMissing = !hasPeer("python3-aiohttp");

describe.skipIf(peersMissing)("Python's aiohttp client calls an aiohttp-ts server", () => {
  let srv: InteropServer;

  beforeAll(async () => {
    srv = await startInteropServer();
  });

  afterAll(async () => {
    await srv?.server.close();
  });

  test("GET gets decoded path params and repeated query params in order", async () => {
    const r = await aiohttpRequest({
      url: srv.url("/users/j%C3%B6rg/posts/42"),
      params: [
        ["tag", "a"],
        ["tag", "b"],
        ["q", "hello world & more"],
      ],
    });
    expect(r.status).toBe(200);
    expect(pyHeaders(r, "Content-Type")).toEqual(["application/json; charset=utf-8"]);
    expect(JSON.parse(r.body)).toEqual({
      id: "jörg",
      post: "42",
      query: [
        ["tag", "a"],
        ["tag", "b"],
        ["q", "hello world & more"],
      ],
    });
  });

  test("POST of an urlencoded form keeps repeated keys and decodes values", async () => {
    const r = await aiohttpRequest({
      method: "POST",
      url: srv.url("/form"),
      form: [
        ["color", "red"],
        ["color", "blue"],
        ["note", "a&b c=d ünï"],
      ],
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      contentType: "application/x-www-form-urlencoded",
      fields: [
        ["color", "red"],
        ["color", "blue"],
        ["note", "a&b c=d ünï"],
      ],
    });
  });

  test("a JSON body is parsed and a JSON response comes back with its status", async () => {
    const r = await aiohttpRequest({
      method: "POST",
      url: srv.url("/json"),
      json: { numbers: [1, 2, 3.5], name: "zoë", nested: { ok: true, none: null } },
    });
    expect(r.status).toBe(201);
    expect(pyHeaders(r, "Content-Type")).toEqual(["application/json; charset=utf-8"]);
    expect(JSON.parse(r.body)).toEqual({
      received: { numbers: [1, 2, 3.5], name: "zoë", nested: { ok: true, none: null } },
      sum: 6.5,
    });
  });

  test("an unknown path answers 404 with a short text body", async () => {
    const r = await aiohttpRequest({ url: srv.url("/no/such/thing") });
    expect(r.status).toBe(404);
    expect(r.reason).toBe("Not Found");
    expect(r.body).toBe("404: Not Found");
  });

  test("a method the resource lacks answers 405 with Allow listing the others", async () => {
    const r = await aiohttpRequest({ method: "PATCH", url: srv.url("/items") });
    expect(r.status).toBe(405);
    expect(pyHeaders(r, "Allow")).toEqual(["DELETE,GET,HEAD"]);
  });

  test("HEAD gets Content-Length and no body, and the connection stays usable", async () => {
    const { results } = await aiohttpClient([
      { method: "HEAD", url: srv.url("/text") },
      { url: srv.url("/text") },
    ]);
    const [head, get] = results;
    expect(head?.error).toBeNull();
    expect(head?.status).toBe(200);
    expect(head && pyHeaders(head, "Content-Length")).toEqual([String(HELLO_TEXT.length)]);
    expect(head?.bodyLength).toBe(0);
    // Stray body bytes after the HEAD answer would corrupt this response on the reused socket.
    expect(get?.connection).toBe("reused");
    expect(get?.body).toBe(HELLO_TEXT);
  });

  test("one ClientSession reuses one kept-alive connection for two requests", async () => {
    const { results } = await aiohttpClient([{ url: srv.url("/conn") }, { url: srv.url("/conn") }]);
    const [first, second] = results;
    expect(first?.error).toBeNull();
    expect(second?.error).toBeNull();
    expect(first?.connection).toBe("new");
    expect(second?.connection).toBe("reused");
    expect(first?.localPort).toEqual(expect.any(Number));
    expect(second?.localPort).toBe(first?.localPort);
    // The server saw the client's port, the same one both times.
    expect(JSON.parse(first?.body ?? "")).toEqual({ remotePort: first?.localPort });
    expect(JSON.parse(second?.body ?? "")).toEqual({ remotePort: first?.localPort });
  });

  test("a body over clientMaxSize answers 413", async () => {
    const size = SMALL_MAX_SIZE * 4;
    const r = await aiohttpRequest({
      method: "POST",
      url: srv.url("/small/upload"),
      bodySize: size,
    });
    expect(r.status).toBe(413);
    expect(r.reason).toBe("Request Entity Too Large");
    expect(r.body).toBe(
      `Maximum request body size ${SMALL_MAX_SIZE} exceeded, actual body size ${size}`,
    );
    expect(srv.seen.some((s) => s.path === "/small/upload" && s.status === 413)).toBe(true);
  });

  test("a body far over clientMaxSize still gets its 413, not a connection reset", async () => {
    const r = await aiohttpRequest({
      method: "POST",
      url: srv.url("/small/upload"),
      bodySize: 8 * 1024 ** 2,
    });
    expect(r.status).toBe(413);
  });

  test("after a 413 the session opens a fresh connection and carries on", async () => {
    const { results } = await aiohttpClient([
      { method: "POST", url: srv.url("/small/upload"), bodySize: SMALL_MAX_SIZE * 4 },
      { method: "POST", url: srv.url("/small/upload"), bodySize: 10 },
    ]);
    expect(results[0]?.status).toBe(413);
    expect(results[1]?.error).toBeNull();
    expect(results[1]?.connection).toBe("new");
    expect(JSON.parse(results[1]?.body ?? "")).toEqual({ length: 10 });
  });

  test("the default Accept-Encoding gets a gzip body that aiohttp decodes", async () => {
    const r = await aiohttpRequest({ url: srv.url("/compressed") });
    expect(r.status).toBe(200);
    expect(pyHeaders(r, "Content-Encoding")).toEqual(["gzip"]);
    expect(pyHeaders(r, "Content-Length")).toEqual([]);
    expect(r.body).toBe(COMPRESSIBLE_TEXT);
  });

  test("a deflate-only client gets a deflate body that aiohttp decodes", async () => {
    const r = await aiohttpRequest({
      url: srv.url("/compressed"),
      headers: [["Accept-Encoding", "deflate"]],
    });
    expect(pyHeaders(r, "Content-Encoding")).toEqual(["deflate"]);
    expect(r.body).toBe(COMPRESSIBLE_TEXT);
  });

  test("a StreamResponse without a length arrives chunked and is read whole", async () => {
    const r = await aiohttpRequest({ url: srv.url("/stream"), read: "chunks" });
    expect(r.status).toBe(200);
    expect(pyHeaders(r, "Transfer-Encoding")).toEqual(["chunked"]);
    expect(r.body).toBe(STREAM_CHUNKS.join(""));
    expect(r.chunks.reduce((a, b) => a + b, 0)).toBe(r.bodyLength);
  });

  test("cookies set by setCookie land in the session's jar and are sent back", async () => {
    const { results, cookies } = await aiohttpClient([
      { url: srv.url("/cookies/set") },
      { url: srv.url("/cookies/echo") },
    ]);
    expect(results[0]?.status).toBe(200);
    expect(JSON.parse(results[1]?.body ?? "")).toEqual({ session: "s3cr3t", theme: "dark" });
    const byName = new Map(cookies.map((c) => [c.name, c]));
    expect(byName.get("session")).toMatchObject({ value: "s3cr3t", path: "/", httponly: true });
    expect(byName.get("theme")).toMatchObject({ value: "dark", path: "/", "max-age": "3600" });
  });

  test("an upload with Expect: 100-continue is continued and arrives whole", async () => {
    const size = 256 * 1024;
    const r = await aiohttpRequest({
      method: "POST",
      url: srv.url("/upload"),
      bodySize: size,
      expect100: true,
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      length: size,
      sha256: createHash("sha256").update("x".repeat(size)).digest("hex"),
      expect: "100-continue",
    });
  });
});
