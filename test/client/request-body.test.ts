// Request bodies over real sockets: every shape of `data`, `json`, streaming uploads (including
// a download piped straight into an upload), and per-request cookies.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, test } from "vitest";
import {
  ClientError,
  type ClientSession,
  CookieJar,
  RedirectBodyError,
  web,
} from "../../src/index.js";
import { rejection, useSessions, useTestClients } from "../helpers.js";

const serve = useTestClients();

const session = useSessions();

/** What the upload handler saw. */
interface Seen {
  method: string;
  contentType: string | null;
  contentLength: string | null;
  transferEncoding: string | null;
  cookie: string | null;
  length: number;
  sha256: string;
  text: string;
  /** Fields of a multipart or urlencoded body, parsed by the platform's own parser. */
  fields: Array<[string, string]> | null;
  /** Files of a multipart body: field name, file name, type, text. */
  files: Array<[string, string, string, string]> | null;
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

async function uploadServer(): Promise<URL> {
  const app = new web.Application({ clientMaxSize: 64 * 1024 * 1024 });
  // The download route first: the catch-all below would match it too.
  app.router.addGet("/download/{size}", async (request) => {
    const size = Number(request.matchInfo.size);
    const resp = new web.StreamResponse({ headers: { "Content-Type": "application/x-data" } });
    await resp.prepare(request);
    for (let sent = 0; sent < size; sent += 64 * 1024) {
      await resp.write(pattern(sent, Math.min(64 * 1024, size - sent)));
    }
    await resp.writeEof();
    return resp;
  });
  app.router.addRoute("*", "/{tail:.*}", async (request) => {
    const body = await request.read();
    const contentType = request.headers.get("Content-Type") ?? null;
    let fields: Seen["fields"] = null;
    let files: Seen["files"] = null;
    if (
      contentType !== null &&
      (contentType.startsWith("multipart/form-data") ||
        contentType.startsWith("application/x-www-form-urlencoded"))
    ) {
      // The platform's own multipart parser is the independent check of what was sent.
      const form = await new Response(body, {
        headers: { "Content-Type": contentType },
      }).formData();
      fields = [];
      files = [];
      for (const [k, v] of form) {
        if (typeof v === "string") fields.push([k, v]);
        else files.push([k, v.name, v.type, await v.text()]);
      }
    }
    const seen: Seen = {
      method: request.method,
      contentType,
      contentLength: request.headers.get("Content-Length") ?? null,
      transferEncoding: request.headers.get("Transfer-Encoding") ?? null,
      cookie: request.headers.get("Cookie") ?? null,
      length: body.length,
      sha256: sha256(body),
      text: body.toString("utf8"),
      fields,
      files,
    };
    return web.jsonResponse(seen);
  });
  return (await serve(app)).server.makeUrl("/upload");
}

/** Deterministic bytes at `offset`..`offset + length` of a test payload. */
function pattern(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 31 + 7) & 0xff;
  return out;
}

async function post(data: unknown, options: Record<string, unknown> = {}): Promise<Seen> {
  const url = await uploadServer();
  const resp = await session().post(url, { data, ...options } as Parameters<
    ClientSession["post"]
  >[1]);
  return resp.json<Seen>();
}

describe("data", () => {
  test("a string is sent as UTF-8 text/plain with a Content-Length", async () => {
    const seen = await post("héllo wörld");
    expect(seen.text).toBe("héllo wörld");
    expect(seen.contentType).toBe("text/plain; charset=utf-8");
    expect(seen.contentLength).toBe(String(Buffer.byteLength("héllo wörld")));
  });

  test("a Buffer is sent as is, application/octet-stream", async () => {
    const bytes = pattern(0, 5000);
    const seen = await post(bytes);
    expect(seen.sha256).toBe(sha256(bytes));
    expect(seen.contentType).toBe("application/octet-stream");
    expect(seen.contentLength).toBe("5000");
  });

  test("a Uint8Array view is sent without the bytes around it", async () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9, 9]);
    const seen = await post(backing.subarray(2, 5));
    expect(seen.length).toBe(3);
    expect(seen.sha256).toBe(sha256(new Uint8Array([1, 2, 3])));
  });

  test("a plain object is form-urlencoded", async () => {
    const seen = await post({ name: "a b&c", n: 1, yes: true });
    expect(seen.contentType).toBe("application/x-www-form-urlencoded");
    expect(seen.fields).toEqual([
      ["name", "a b&c"],
      ["n", "1"],
      ["yes", "true"],
    ]);
  });

  test("URLSearchParams are form-urlencoded with repeated keys", async () => {
    const seen = await post(
      new URLSearchParams([
        ["k", "1"],
        ["k", "2"],
      ]),
    );
    expect(seen.contentType).toBe("application/x-www-form-urlencoded");
    expect(seen.text).toBe("k=1&k=2");
  });

  test("an explicit Content-Type header wins over the body's", async () => {
    const seen = await post("<a/>", { headers: { "Content-Type": "application/xml" } });
    expect(seen.contentType).toBe("application/xml");
  });

  test("FormData is sent as multipart/form-data with a boundary, fields and files intact", async () => {
    const form = new FormData();
    form.append("title", "Grüße");
    form.append("tag", "a");
    form.append("tag", "b");
    form.append(
      "upload",
      new Blob(["file content\r\n--not-a-boundary"], { type: "text/x-thing" }),
      "notes.txt",
    );
    const seen = await post(form);
    expect(seen.contentType).toMatch(/^multipart\/form-data; boundary=\S+$/);
    const boundary = (seen.contentType ?? "").split("boundary=")[1] ?? "";
    expect(seen.text.startsWith(`--${boundary}\r\n`)).toBe(true);
    expect(seen.text.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
    expect(seen.fields).toEqual([
      ["title", "Grüße"],
      ["tag", "a"],
      ["tag", "b"],
    ]);
    expect(seen.files).toEqual([
      ["upload", "notes.txt", "text/x-thing", "file content\r\n--not-a-boundary"],
    ]);
    // Every part's size is known, so the length is sent instead of chunked encoding.
    expect(seen.contentLength).toBe(String(seen.length));
  });

  test("FormData is sent again, whole, after a 307 redirect", async () => {
    const app = new web.Application();
    app.router.addPost("/from", async (request) => {
      await request.read();
      throw new web.HTTPTemporaryRedirect("/to");
    });
    app.router.addPost("/to", async (request) => {
      const body = await request.read();
      const type = request.headers.get("Content-Type") ?? "";
      const form = await new Response(body, { headers: { "Content-Type": type } }).formData();
      return web.jsonResponse([...form].map(([k, v]) => [k, String(v)]));
    });
    const client = await serve(app);
    const form = new FormData();
    form.append("a", "1");
    form.append("b", "2");
    const resp = await session().post(client.server.makeUrl("/from"), { data: form });
    expect(resp.history.map((h) => h.status)).toEqual([307]);
    expect(await resp.json()).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  test("a Blob is sent with its type", async () => {
    const seen = await post(new Blob(["blob-bytes"], { type: "image/x-test" }));
    expect(seen.text).toBe("blob-bytes");
    expect(seen.contentType).toBe("image/x-test");
  });

  test("a Blob without a type is application/octet-stream", async () => {
    const seen = await post(new Blob([pattern(0, 1000)]));
    expect(seen.sha256).toBe(sha256(pattern(0, 1000)));
    expect(seen.contentType).toBe("application/octet-stream");
  });

  test("a Node Readable is streamed with chunked transfer encoding", async () => {
    const chunks = [pattern(0, 1000), pattern(1000, 70_000), pattern(71_000, 3)];
    const seen = await post(Readable.from(chunks));
    expect(seen.length).toBe(71_003);
    expect(seen.sha256).toBe(sha256(Buffer.concat(chunks)));
    expect(seen.transferEncoding).toBe("chunked");
    expect(seen.contentLength).toBeNull();
  });

  test("an async iterable of Uint8Array is streamed", async () => {
    async function* gen(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 2));
        yield new Uint8Array(pattern(i * 100, 100));
      }
    }
    const seen = await post(gen());
    expect(seen.sha256).toBe(sha256(pattern(0, 1000)));
  });

  test("a web ReadableStream is streamed", async () => {
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i === 5) controller.close();
        else controller.enqueue(new Uint8Array(pattern(i++ * 10, 10)));
      },
    });
    const seen = await post(stream);
    expect(seen.length).toBe(50);
    expect(seen.sha256).toBe(sha256(pattern(0, 50)));
  });

  test("an empty string body sends Content-Length: 0", async () => {
    const seen = await post("");
    expect(seen.length).toBe(0);
    expect(seen.contentLength).toBe("0");
  });

  test("a GET without data sends no Content-Type", async () => {
    const url = await uploadServer();
    const seen = await (await session().get(url)).json<Seen>();
    expect(seen.contentType).toBeNull();
    expect(seen.length).toBe(0);
  });
});

describe("a body stream that fails", () => {
  // Regression: a missing file was reported as ClientConnectorError ("Cannot connect to host
  // ... [ENOENT ... open]"), and a generator's own error as a connection error.
  test("a file that cannot be opened rejects with the file's own error", async () => {
    const url = await uploadServer();
    const missing = join(tmpdir(), `aiohttp-ts-missing-${process.pid}.bin`);
    const err = await rejection(session().post(url, { data: createReadStream(missing) }));
    expect(err).not.toBeInstanceOf(ClientError);
    expect((err as NodeJS.ErrnoException).code).toBe("ENOENT");
    expect((err as NodeJS.ErrnoException).path).toBe(missing);
  });

  test("a generator that throws rejects with what it threw", async () => {
    const url = await uploadServer();
    const boom = new Error("the producer broke");
    const err = await rejection(
      session().post(url, {
        data: (async function* () {
          yield Buffer.from("part");
          throw boom;
        })(),
      }),
    );
    expect(err).toBe(boom);
  });
});

describe("a download piped into an upload", () => {
  test("another response's content is streamed into the request body", async () => {
    const url = await uploadServer();
    const s = session();
    const size = 3 * 1024 * 1024 + 17;
    const download = await s.get(new URL(`/download/${size}`, url));
    expect(download.status).toBe(200);
    const seen = await (await s.post(url, { data: download.content })).json<Seen>();
    expect(seen.length).toBe(size);
    expect(seen.sha256).toBe(sha256(pattern(0, size)));
    expect(seen.transferEncoding).toBe("chunked");
    expect(download.closed).toBe(true);
  });

  test("a one-shot stream body cannot be replayed on a 307 and says so", async () => {
    const app = new web.Application();
    app.router.addPost("/from", async (request) => {
      await request.read();
      throw new web.HTTPTemporaryRedirect("/to");
    });
    app.router.addPost("/to", async (request) => web.jsonResponse((await request.read()).length));
    const client = await serve(app);
    await expect(
      session().post(client.server.makeUrl("/from"), { data: Readable.from([Buffer.from("x")]) }),
    ).rejects.toBeInstanceOf(RedirectBodyError);
  });
});

describe("json", () => {
  test("json is serialised with JSON.stringify and sent as application/json", async () => {
    const value = { a: [1, 2, { b: "é" }], n: null };
    const seen = await post(undefined, { json: value });
    expect(seen.contentType).toBe("application/json");
    expect(JSON.parse(seen.text)).toEqual(value);
  });

  test("json: null sends the JSON null", async () => {
    const seen = await post(undefined, { json: null });
    expect(seen.text).toBe("null");
  });

  test("the session's jsonSerialize is used", async () => {
    const url = await uploadServer();
    const s = session({ jsonSerialize: (v) => JSON.stringify(v, null, 2) });
    const seen = await (await s.put(url, { json: { k: 1 } })).json<Seen>();
    expect(seen.text).toBe('{\n  "k": 1\n}');
    expect(seen.method).toBe("PUT");
  });

  test("data and json together throw before anything is sent", async () => {
    const app = new web.Application();
    let requests = 0;
    app.router.addRoute("*", "/{t:.*}", () => {
      requests++;
      return new web.Response();
    });
    const client = await serve(app);
    await expect(
      session().post(client.server.makeUrl("/"), { data: "x", json: { y: 1 } }),
    ).rejects.toThrow(/data and json/);
    expect(requests).toBe(0);
  });
});

describe("per-request cookies", () => {
  test("are sent with that request only and not stored in the jar", async () => {
    const url = await uploadServer();
    const jar = new CookieJar({ unsafe: true });
    const s = session({ cookieJar: jar });
    const first = await (await s.get(url, { cookies: { once: "1", two: "a b" } })).json<Seen>();
    const second = await (await s.get(url)).json<Seen>();
    expect(first.cookie).toBe('once=1; two="a b"');
    expect(second.cookie).toBeNull();
    expect(jar.size).toBe(0);
  });

  test("are added to the jar's cookies, replacing one of the same name", async () => {
    const url = await uploadServer();
    const jar = new CookieJar({ unsafe: true });
    jar.updateCookies(["stored=jar", "shared=from-jar"], url);
    const s = session({ cookieJar: jar });
    const seen = await (await s.get(url, { cookies: { shared: "from-request" } })).json<Seen>();
    expect(seen.cookie).toBe("stored=jar; shared=from-request");
  });
});
