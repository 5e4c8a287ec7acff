// request.post() with multipart/form-data: fields and files, files kept in memory or spilled
// to temporary files that are deleted however the request ends, and the form limits, checked
// on raw sockets (each refused form gets its status, and the server answers afterwards).
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { web } from "../../src/index.js";
import {
  appWith,
  deferred,
  getRequest,
  quiet,
  RawConnection,
  rawExchange,
  useRunners,
} from "../helpers.js";

const start = useRunners();
const BOUNDARY = "----aiohttp-ts-test-boundary";

/** A part of a hand-built multipart body: its header lines and content. */
interface RawPart {
  headers: string[];
  body: string | Buffer;
}

function field(name: string, value: string | Buffer, extra: string[] = []): RawPart {
  return { headers: [`Content-Disposition: form-data; name="${name}"`, ...extra], body: value };
}

function filePart(
  name: string,
  filename: string,
  body: string | Buffer,
  type = "application/octet-stream",
): RawPart {
  return {
    headers: [
      `Content-Disposition: form-data; name="${name}"; filename="${filename}"`,
      `Content-Type: ${type}`,
    ],
    body,
  };
}

/** A multipart body; `end: false` leaves out the final delimiter. */
function multipart(parts: RawPart[], { end = true, boundary = BOUNDARY } = {}): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    pieces.push(Buffer.from(`--${boundary}\r\n${part.headers.join("\r\n")}\r\n\r\n`, "latin1"));
    pieces.push(Buffer.from(part.body));
    pieces.push(Buffer.from("\r\n"));
  }
  if (end) pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

/** A POST with `body`, asking the server to close the connection after it unless `keepAlive`. */
function postRequest(
  body: Buffer,
  contentType = `multipart/form-data; boundary=${BOUNDARY}`,
  keepAlive = false,
): Buffer {
  const head =
    `POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\n` +
    `Content-Length: ${body.length}\r\n${keepAlive ? "" : "Connection: close\r\n"}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** What the echo handler reports of a form value. */
async function describeValue(value: string | web.FileField): Promise<unknown> {
  if (typeof value === "string") return value;
  const bytes = await value.read();
  const streamed: Buffer[] = [];
  for await (const chunk of value.stream()) streamed.push(chunk as Buffer);
  return {
    filename: value.filename,
    contentType: value.contentType,
    size: value.size,
    sha256: sha256(bytes),
    streamedSha256: sha256(Buffer.concat(streamed)),
    onDisk: value.path !== null,
    partType: value.headers.get("Content-Type") ?? null,
  };
}

function echoForm(options: web.ApplicationOptions = {}): web.Application {
  return appWith(
    async (request) => {
      const form = await request.post();
      const out: [string, unknown][] = [];
      for (const [name, value] of form) out.push([name, await describeValue(value)]);
      return web.jsonResponse(out);
    },
    { logger: quiet, ...options },
  );
}

async function serve(app: web.Application): Promise<number> {
  return (await start(app, { accessLog: null })).port;
}

/** Sends `request` on a new connection; the first response's status line. */
async function statusOf(port: number, request: Buffer | string): Promise<string> {
  const reply = await rawExchange(port, [request], { timeoutMs: 5000 });
  return reply.statusLine;
}

/** A well-formed request on a new connection still gets 200. */
async function expectHealthy(port: number): Promise<void> {
  const reply = await rawExchange(port, [getRequest("/")], { requireClose: true });
  expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
}

describe("request.post() with multipart/form-data", () => {
  it("gives text fields as strings and files as FileFields, repeated names kept", async () => {
    const port = await serve(echoForm());
    const form = new FormData();
    form.append("tag", "a");
    form.append("tag", "zoë");
    form.append("doc", new Blob(["hello"], { type: "text/plain" }), "notes é.txt");
    form.append("bin", new Blob([Buffer.from([0, 255, 1])]), "x.bin");
    const resp = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: form });
    expect(resp.status).toBe(200);
    expect(await resp.json()).toEqual([
      ["tag", "a"],
      ["tag", "zoë"],
      [
        "doc",
        {
          filename: "notes é.txt",
          contentType: "text/plain",
          size: 5,
          sha256: sha256(Buffer.from("hello")),
          streamedSha256: sha256(Buffer.from("hello")),
          onDisk: false,
          partType: "text/plain",
        },
      ],
      [
        "bin",
        expect.objectContaining({
          filename: "x.bin",
          contentType: "application/octet-stream",
          size: 3,
          sha256: sha256(Buffer.from([0, 255, 1])),
        }),
      ],
    ]);
  });

  it("a binary part without a file name is a FileField with filename ''; charset is honoured", async () => {
    const port = await serve(echoForm());
    const body = multipart([
      field("json", '{"a":1}', ["Content-Type: application/json"]),
      field("latin", Buffer.from("caf\xe9", "latin1"), [
        "Content-Type: text/plain; charset=latin1",
      ]),
      field("empty-file", "", []),
    ]);
    const reply = await rawExchange(port, [postRequest(body)]);
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    // The raw reply is latin1 text; the JSON is UTF-8.
    expect(JSON.parse(Buffer.from(reply.rest, "latin1").toString("utf8"))).toEqual([
      ["json", expect.objectContaining({ filename: "", contentType: "application/json", size: 7 })],
      ["latin", "café"],
      ["empty-file", ""],
    ]);
  });

  // Regression: post() kept a part's Content-Transfer-Encoding and Content-Encoding, so a
  // base64 field arrived as base64; aiohttp's post() decodes both, for fields and files.
  it("undoes a part's base64, quoted-printable and gzip encodings, as aiohttp", async () => {
    const big = randomBytes(3 * 1024 ** 2);
    const port = await serve(echoForm({ clientMaxSize: 8 * 1024 ** 2 }));
    const body = multipart([
      field("b64", "aGVsbG8gd29ybGQ=", ["Content-Transfer-Encoding: base64"]),
      field("qp", "caf=C3=A9 =\r\nau lait", ["Content-Transfer-Encoding: quoted-printable"]),
      {
        headers: [
          'Content-Disposition: form-data; name="gz"; filename="gz.bin"',
          "Content-Encoding: gzip",
        ],
        body: gzipSync(big),
      },
      {
        headers: [
          'Content-Disposition: form-data; name="zeros"; filename="z.bin"',
          "Content-Encoding: gzip",
        ],
        body: gzipSync(Buffer.alloc(2 * 1024 ** 2)),
      },
      {
        headers: [
          'Content-Disposition: form-data; name="b64file"; filename="a.txt"',
          "Content-Type: text/plain",
          "Content-Transfer-Encoding: base64",
        ],
        body: Buffer.from("file content").toString("base64"),
      },
    ]);
    const reply = await rawExchange(port, [postRequest(body)], { timeoutMs: 10_000 });
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(JSON.parse(Buffer.from(reply.rest, "latin1").toString("utf8"))).toEqual([
      ["b64", "hello world"],
      ["qp", "café au lait"],
      ["gz", expect.objectContaining({ size: big.length, sha256: sha256(big), onDisk: true })],
      // Small on the wire, over maxMemoryFileSize once decoded: on disk like any large file.
      [
        "zeros",
        expect.objectContaining({
          size: 2 * 1024 ** 2,
          sha256: sha256(Buffer.alloc(2 * 1024 ** 2)),
          onDisk: true,
        }),
      ],
      [
        "b64file",
        expect.objectContaining({ size: 12, sha256: sha256(Buffer.from("file content")) }),
      ],
    ]);
  });

  it("refuses a part that decodes past clientMaxSize with 413", async () => {
    const port = await serve(echoForm());
    const bomb = gzipSync(Buffer.alloc(2 * 1024 ** 2));
    const body = multipart([
      {
        headers: [
          'Content-Disposition: form-data; name="gz"; filename="gz.bin"',
          "Content-Encoding: gzip",
        ],
        body: bomb,
      },
    ]);
    expect(await statusOf(port, postRequest(body))).toBe("HTTP/1.1 413 Request Entity Too Large");
  });

  it("caches the result: a second post() gives the same object", async () => {
    const port = await serve(
      appWith(async (r) => {
        const first = await r.post();
        const second = await r.post();
        return web.jsonResponse(first === second);
      }),
    );
    const reply = await rawExchange(port, [postRequest(multipart([field("a", "1")]))]);
    expect(reply.rest).toBe("true");
  });

  it("parses a body that read() already buffered", async () => {
    const port = await serve(
      appWith(async (r) => {
        const raw = await r.read();
        const form = await r.post();
        return web.jsonResponse([raw.length > 0, form.get("a")]);
      }),
    );
    const reply = await rawExchange(port, [postRequest(multipart([field("a", "1")]))]);
    expect(JSON.parse(reply.rest)).toEqual([true, "1"]);
  });

  // Regression: post() returned at the final delimiter while its reader still waited for the
  // body's end, so a read() right after it failed with "another read is already waiting" (500).
  it("read() after a multipart post() gives the empty rest of the body, as in aiohttp", async () => {
    const port = await serve(
      appWith(
        async (r) => {
          const form = await r.post();
          const rest = await r.read();
          return web.jsonResponse([form.get("a"), rest.length]);
        },
        { logger: quiet },
      ),
    );
    const reply = await rawExchange(port, [postRequest(multipart([field("a", "1")]))]);
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(JSON.parse(reply.rest)).toEqual(["1", 0]);
  });

  it("urlencoded forms still give strings", async () => {
    const port = await serve(echoForm());
    const resp = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      body: new URLSearchParams([
        ["a", "1"],
        ["a", "b c"],
      ]),
    });
    expect(await resp.json()).toEqual([
      ["a", "1"],
      ["a", "b c"],
    ]);
  });
});

describe("temporary files of large uploads", () => {
  const big = randomBytes(3 * 1024 ** 2 + 17);

  it("keeps a file over 1 MiB on disk, byte-exact, and deletes it after the response", async () => {
    let path: string | null = null;
    const app = appWith(
      async (r) => {
        const file = (await r.post()).get("big") as web.FileField;
        path = file.path;
        return web.jsonResponse({
          ...((await describeValue(file)) as object),
          exists: existsSync(path ?? ""),
        });
      },
      { clientMaxSize: 8 * 1024 ** 2, logger: quiet },
    );
    const port = await serve(app);
    const form = new FormData();
    form.append("big", new Blob([big]), "big.bin");
    const resp = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: form });
    expect(await resp.json()).toMatchObject({
      size: big.length,
      sha256: sha256(big),
      streamedSha256: sha256(big),
      onDisk: true,
      exists: true,
    });
    expect(path).toMatch(/aiohttp-ts-upload-/);
    await vi.waitFor(() => expect(existsSync(path as unknown as string)).toBe(false));
  });

  it("deletes the temporary file when the handler throws", async () => {
    let path: string | null = null;
    const app = appWith(
      async (r) => {
        path = ((await r.post()).get("big") as web.FileField).path;
        throw new Error("handler failed after the upload");
      },
      { clientMaxSize: 8 * 1024 ** 2, logger: quiet },
    );
    const port = await serve(app);
    const reply = await rawExchange(port, [
      postRequest(multipart([filePart("big", "big.bin", big)])),
    ]);
    expect(reply.statusLine).toBe("HTTP/1.1 500 Internal Server Error");
    expect(path).not.toBeNull();
    await vi.waitFor(() => expect(existsSync(path as unknown as string)).toBe(false));
  });

  it("deletes the temporary file when the client disconnects", async () => {
    const parsed = deferred<string>();
    const app = appWith(
      async (r) => {
        const file = (await r.post()).get("big") as web.FileField;
        parsed.resolve(file.path ?? "");
        // Holds the request open until the client is gone.
        await new Promise((resolve) => r.signal.addEventListener("abort", resolve));
        return new web.Response({ text: "late" });
      },
      { clientMaxSize: 8 * 1024 ** 2, logger: quiet },
    );
    const port = await serve(app);
    const conn = await RawConnection.open(port);
    conn.write(postRequest(multipart([filePart("big", "big.bin", big)]), undefined, true));
    const path = await parsed.promise;
    expect(existsSync(path)).toBe(true);
    conn.destroy();
    await vi.waitFor(() => expect(existsSync(path)).toBe(false));
  });

  it("deletes the file of an upload cut off by the client mid-body", async () => {
    // A private temporary directory: the upload directory that appears in it is this test's.
    const privateTmp = await mkdtemp(join(tmpdir(), "aiohttp-ts-forms-test-"));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    try {
      const port = await serve(echoForm({ clientMaxSize: 8 * 1024 ** 2 }));
      const full = postRequest(multipart([filePart("big", "big.bin", big)]), undefined, true);
      const conn = await RawConnection.open(port);
      conn.write(full.subarray(0, 2 * 1024 ** 2));
      // The file spills once 1 MiB of it arrived: wait for its directory, then cut.
      const dir = await vi.waitFor(async () => {
        const [made] = await readdir(privateTmp);
        expect(made).toMatch(/^aiohttp-ts-upload-/);
        return join(privateTmp, made as string);
      });
      conn.destroy();
      await vi.waitFor(() => expect(existsSync(dir)).toBe(false));
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      await rm(privateTmp, { recursive: true, force: true });
    }
  });
});

describe("form limits", () => {
  it("counts fields and files together against clientMaxSize: 413", async () => {
    const port = await serve(echoForm());
    const half = Buffer.alloc(600 * 1024, 1);
    const body = multipart([filePart("a", "a.bin", half), field("b", half.toString("latin1"))]);
    expect(await statusOf(port, postRequest(body))).toBe("HTTP/1.1 413 Request Entity Too Large");
    await expectHealthy(port);
  });

  it("accepts a form just under clientMaxSize", async () => {
    const port = await serve(echoForm());
    const body = multipart([
      filePart("a", "a.bin", Buffer.alloc(512 * 1024)),
      field("b", "x".repeat(500 * 1024)),
    ]);
    expect(await statusOf(port, postRequest(body))).toBe("HTTP/1.1 200 OK");
  });

  it("refuses more parts than formLimits.maxParts (default 1000) with 413", async () => {
    const port = await serve(echoForm());
    const parts = Array.from({ length: 1001 }, (_, i) => field(`f${i}`, "v"));
    expect(await statusOf(port, postRequest(multipart(parts)))).toMatch(/^HTTP\/1\.1 413 /);
    const ok = Array.from({ length: 1000 }, (_, i) => field(`f${i}`, "v"));
    expect(await statusOf(port, postRequest(multipart(ok)))).toBe("HTTP/1.1 200 OK");
  });

  it("refuses a part header line over 8190 bytes with 400", async () => {
    const port = await serve(echoForm());
    const body = multipart([field("a", "1", [`X-Long: ${"x".repeat(8190)}`])]);
    const reply = await rawExchange(port, [postRequest(body)], { timeoutMs: 5000 });
    expect(reply.statusLine).toBe("HTTP/1.1 400 Bad Request");
    expect(reply.rest).toContain("Part header line longer than 8190 bytes");
    const fits = multipart([field("a", "1", [`X-Long: ${"x".repeat(8180)}`])]);
    expect(await statusOf(port, postRequest(fits))).toBe("HTTP/1.1 200 OK");
  });

  it("refuses more than 128 headers in a part with 400", async () => {
    const port = await serve(echoForm());
    const many = Array.from({ length: 128 }, (_, i) => `X-H${i}: v`);
    const reply = await rawExchange(port, [postRequest(multipart([field("a", "1", many)]))], {
      timeoutMs: 5000,
    });
    expect(reply.statusLine).toBe("HTTP/1.1 400 Bad Request");
    expect(reply.rest).toContain("More than 128 part header fields");
    const fits = multipart([field("a", "1", many.slice(1))]);
    expect(await statusOf(port, postRequest(fits))).toBe("HTTP/1.1 200 OK");
  });

  it("refuses a field name over formLimits.maxFieldNameSize with 400, in both form types", async () => {
    const port = await serve(echoForm({ formLimits: { maxFieldNameSize: 64 } }));
    const long = "n".repeat(65);
    expect(await statusOf(port, postRequest(multipart([field(long, "1")])))).toBe(
      "HTTP/1.1 400 Bad Request",
    );
    const urlencoded = Buffer.from(`${long}=1`);
    expect(await statusOf(port, postRequest(urlencoded, "application/x-www-form-urlencoded"))).toBe(
      "HTTP/1.1 400 Bad Request",
    );
    await expectHealthy(port);
  });

  it("refuses too many urlencoded fields with 413", async () => {
    const port = await serve(echoForm({ formLimits: { maxParts: 3 } }));
    const body = Buffer.from("a=1&b=2&c=3&d=4");
    expect(await statusOf(port, postRequest(body, "application/x-www-form-urlencoded"))).toMatch(
      /^HTTP\/1\.1 413 /,
    );
    await expectHealthy(port);
  });

  it.each([
    ["no boundary parameter", "multipart/form-data", multipart([field("a", "1")])],
    [
      "an invalid boundary",
      `multipart/form-data; boundary=${"b".repeat(71)}`,
      multipart([field("a", "1")], { boundary: "b".repeat(71) }),
    ],
    ["no final delimiter", undefined, multipart([field("a", "1")], { end: false })],
    [
      "a body cut in a part's headers",
      undefined,
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-da`),
    ],
    ["no boundary line at all", undefined, Buffer.from("just some text\r\n")],
    ["an empty body", undefined, Buffer.alloc(0)],
    [
      "a part without Content-Disposition",
      undefined,
      multipart([{ headers: ["Content-Type: text/plain"], body: "x" }]),
    ],
    [
      "a part without a name",
      undefined,
      multipart([{ headers: ["Content-Disposition: form-data"], body: "x" }]),
    ],
  ])("answers a multipart body with %s with 400, without hanging", async (_name, type, body) => {
    const port = await serve(echoForm());
    const t0 = performance.now();
    const reply = await rawExchange(port, [postRequest(body, type)], { timeoutMs: 5000 });
    expect(reply.statusLine).toBe("HTTP/1.1 400 Bad Request");
    expect(performance.now() - t0).toBeLessThan(4000);
    await expectHealthy(port);
  });

  it("a refused form leaves the keep-alive connection usable or closes it cleanly", async () => {
    const port = await serve(echoForm());
    const conn = await RawConnection.open(port);
    conn.write(
      postRequest(multipart([field("a", "1", [`X-Long: ${"x".repeat(9000)}`])]), undefined, true),
    );
    await conn.waitFor("\r\n\r\n");
    expect(conn.data).toMatch(/^HTTP\/1\.1 400 /);
    // Either the server answers the next request on this connection, or it closes it.
    conn.write(getRequest("/"));
    const closed = await conn.closesWithin(3000);
    expect(closed || /HTTP\/1\.1 200 OK/.test(conn.data.slice(12))).toBe(true);
    conn.destroy();
    await sleep(0);
  });
});
