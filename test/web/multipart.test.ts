// request.multipart() over real sockets: uploads streamed part by part to disk (checked by
// sha256), from node:http, curl -F and Python aiohttp's MultipartWriter with a nested
// multipart/mixed part, and the 400/413 answers to bodies that cannot be read; and the same
// reader on the client side, over a ClientSession response.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BodyPartReader, MultipartReader, web } from "../../src/index.js";
import { appWith, httpSend, quiet, rawExchange, useSessions, useTestClients } from "../helpers.js";
import { curl, onlyTransfer, run } from "../interop/helpers.js";
import { hasPeer, PYTHON } from "../peers.js";

const serve = useTestClients();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-multipart-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the upload handler reports of each part. */
type Saved =
  | { name: string | null; value: string }
  | { name: string | null; filename: string; contentType: string; size: number; sha256: string };

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** How the upload handler reports a file part that held `data`. */
function savedFile(name: string, filename: string, contentType: string, data: Buffer): Saved {
  return { name, filename, contentType, size: data.length, sha256: sha256(data) };
}

/** Streams every file part to its own file and reports it by the sha256 of what is on disk. */
async function saveParts(reader: web.MultipartReader, prefix = ""): Promise<Saved[]> {
  const saved: Saved[] = [];
  for await (const part of reader) {
    if (part instanceof web.MultipartReader) {
      saved.push(...(await saveParts(part, `${part.name ?? ""}/`)));
    } else if (part.filename === null) {
      saved.push({ name: prefix + (part.name ?? ""), value: await part.text() });
    } else {
      const path = join(dir, randomUUID());
      await pipeline(part.stream(), createWriteStream(path));
      const onDisk = await readFile(path);
      saved.push(savedFile(prefix + (part.name ?? ""), part.filename, part.contentType, onDisk));
    }
  }
  return saved;
}

const upload: web.Handler = async (request) =>
  web.jsonResponse(await saveParts(await request.multipart()));

function multipartBody(
  boundary: string,
  parts: Array<{ headers: string[]; body: Buffer | string }>,
): Buffer {
  const pieces: Buffer[] = [];
  for (const { headers, body } of parts) {
    pieces.push(Buffer.from(`--${boundary}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`));
    pieces.push(Buffer.isBuffer(body) ? body : Buffer.from(body));
    pieces.push(Buffer.from("\r\n"));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

function post(port: number, body: Buffer | string, contentType: string) {
  return httpSend(port, "/upload", {
    method: "POST",
    headers: { "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(body)) },
    body,
  });
}

describe("request.multipart() streams uploads", () => {
  it("a handler pipes each file part to disk, intact, and reads the fields as text", async () => {
    const client = await serve(appWith(upload));
    const big = randomBytes(3 * 1024 * 1024 + 11);
    const body = multipartBody("XyZ", [
      { headers: ['Content-Disposition: form-data; name="title"'], body: "holiday" },
      {
        headers: [
          'Content-Disposition: form-data; name="photo"; filename="beach.jpg"',
          "Content-Type: image/jpeg",
        ],
        body: big,
      },
    ]);
    const resp = await post(client.server.port, body, "multipart/form-data; boundary=XyZ");
    expect(resp.status).toBe(200);
    expect(JSON.parse(resp.body)).toEqual([
      { name: "title", value: "holiday" },
      savedFile("photo", "beach.jpg", "image/jpeg", big),
    ]);
  });

  // Regression: after a large last part, the reader stopped reading the body at the final
  // delimiter (Dicer never called back its paused write), leaving the rest unread.
  it("has read the body to its end, epilogue included, when the last part is done", async () => {
    const handler: web.Handler = async (request) => {
      const reader = await request.multipart();
      let size = 0;
      for await (const part of reader) {
        if (part instanceof web.MultipartReader) continue;
        for (let c = await part.readChunk(65536); c.length > 0; c = await part.readChunk(65536)) {
          size += c.length;
        }
      }
      return web.jsonResponse({ size, atEof: request.content.atEof() });
    };
    const client = await serve(appWith(handler));
    const big = randomBytes(2 * 1024 * 1024);
    const body = Buffer.concat([
      multipartBody("b", [
        { headers: ['Content-Disposition: form-data; name="f"; filename="f.bin"'], body: big },
      ]),
      Buffer.from("an epilogue"),
    ]);
    const resp = await post(client.server.port, body, "multipart/form-data; boundary=b");
    expect(resp.status).toBe(200);
    expect(JSON.parse(resp.body)).toEqual({ size: big.length, atEof: true });
  });

  // Regression: after read(), multipart() read the exhausted stream and blamed the client with
  // a 400 "no delimiter (wrong or missing boundary)"; post() already used the buffered body.
  it("reads the parts from the buffered body after read(), as post() does", async () => {
    const handler: web.Handler = async (request) => {
      const raw = await request.read(); // e.g. a middleware checking a signature
      return web.jsonResponse({
        raw: raw.length,
        parts: await saveParts(await request.multipart()),
      });
    };
    const client = await serve(appWith(handler, { logger: quiet }));
    const body = multipartBody("b", [
      { headers: ['Content-Disposition: form-data; name="a"'], body: "1" },
      { headers: ['Content-Disposition: form-data; name="f"; filename="f.txt"'], body: "data" },
    ]);
    const resp = await post(client.server.port, body, "multipart/form-data; boundary=b");
    expect(resp.status).toBe(200);
    expect(JSON.parse(resp.body)).toEqual({
      raw: body.length,
      parts: [
        { name: "a", value: "1" },
        {
          name: "f",
          filename: "f.txt",
          contentType: "text/plain",
          size: 4,
          sha256: sha256("data"),
        },
      ],
    });
  });

  // Regression: after post(), multipart() read the exhausted stream and answered 400 "no
  // delimiter (wrong or missing boundary)", blaming the client for the handler's mistake.
  it("after post() of a multipart body, multipart() throws an error that names post()", async () => {
    const errors: string[] = [];
    const logger: web.Logger = { error: (message, ...args) => errors.push(`${message} ${args}`) };
    const handler: web.Handler = async (request) => {
      await request.post(); // e.g. a middleware reading a CSRF token from the form
      await request.multipart();
      return new web.Response({ text: "unreachable" });
    };
    const client = await serve(appWith(handler, { logger }));
    const body = multipartBody("b", [
      { headers: ['Content-Disposition: form-data; name="a"'], body: "1" },
    ]);
    const resp = await post(client.server.port, body, "multipart/form-data; boundary=b");
    expect(resp.status).toBe(500);
    expect(errors.join("\n")).toContain(
      "request.multipart() after request.post() read the multipart body",
    );
  });

  it("clientMaxSize does not limit the streaming reader", async () => {
    const client = await serve(appWith(upload, { clientMaxSize: 1024 }));
    const data = randomBytes(256 * 1024);
    const body = multipartBody("b", [
      { headers: ['Content-Disposition: form-data; name="f"; filename="f.bin"'], body: data },
    ]);
    const resp = await post(client.server.port, body, "multipart/form-data; boundary=b");
    expect(resp.status).toBe(200);
    expect(JSON.parse(resp.body)[0].sha256).toBe(sha256(data));
  });

  it("a request that is not multipart is a 400 that says so", async () => {
    const client = await serve(appWith(upload));
    const resp = await post(client.server.port, '{"a":1}', "application/json");
    expect(resp.status).toBe(400);
    expect(resp.body).toContain("Expected a multipart Content-Type");
  });

  it("a multipart request without a boundary is a 400", async () => {
    const client = await serve(appWith(upload));
    const resp = await post(client.server.port, "--b--\r\n", "multipart/form-data");
    expect(resp.status).toBe(400);
    expect(resp.body).toContain("no boundary");
  });

  it("a body without its final delimiter is a 400, found while the handler streams it", async () => {
    const client = await serve(appWith(upload, { logger: quiet }));
    const body = `--b\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n${"x".repeat(100_000)}`;
    const resp = await post(client.server.port, body, "multipart/form-data; boundary=b");
    expect(resp.status).toBe(400);
    expect(resp.body).toContain("final delimiter");
  });

  it("the 400 thrown while reading keeps the MultipartError as its cause", async () => {
    const client = await serve(
      appWith(async (request) => {
        try {
          await (await request.multipart()).release();
          return web.jsonResponse("read");
        } catch (err) {
          const cause = (err as Error).cause as web.MultipartError;
          return web.jsonResponse([(err as web.HTTPException).status, cause.name, cause.code]);
        }
      }),
    );
    const resp = await post(
      client.server.port,
      "--b\r\n\r\ncut",
      "multipart/form-data; boundary=b",
    );
    expect(JSON.parse(resp.body)).toEqual([400, "MultipartError", "AIOHTTP_MULTIPART_MALFORMED"]);
  });

  it("a body that never shows the boundary is a 400", async () => {
    const client = await serve(appWith(upload));
    const resp = await post(
      client.server.port,
      "just some bytes",
      "multipart/form-data; boundary=b",
    );
    expect(resp.status).toBe(400);
    expect(resp.body).toContain('no "--b" delimiter');
  });

  it("a part with more than 128 header fields is a 400, as in request.post()", async () => {
    const client = await serve(appWith(upload));
    const headers = Array.from({ length: 129 }, (_, i) => `X-H${i}: v`);
    const body = multipartBody("b", [{ headers, body: "x" }]);
    const resp = await post(client.server.port, body, "multipart/form-data; boundary=b");
    expect(resp.status).toBe(400);
    expect(resp.body).toContain("part header fields");
  });
  it("a compressed part that inflates past maxDecodedSize is a 413, not a full inflate", async () => {
    const client = await serve(
      appWith(async (request) => {
        const part = await (await request.multipart({ maxDecodedSize: 1024 ** 2 })).next();
        return web.jsonResponse(await (part as BodyPartReader).json());
      }),
    );
    const bomb = gzipSync(Buffer.alloc(20 * 1024 ** 2, 0x20));
    const body = multipartBody("b", [
      { headers: ["Content-Type: application/json", "Content-Encoding: gzip"], body: bomb },
    ]);
    const resp = await post(client.server.port, body, "multipart/form-data; boundary=b");
    expect(resp.status).toBe(413);
    expect(resp.body).toContain("decoded part content");
  });

  it("an upload refused mid-body is answered at once and its connection closed", async () => {
    const client = await serve(appWith(upload));
    const headers = Array.from({ length: 129 }, (_, i) => `X-H${i}: v`);
    const start = multipartBody("b", [{ headers, body: "x" }]).subarray(0, 2000);
    // The client announces 10 MiB and sends only the start: the answer must not wait for the rest.
    const reply = await rawExchange(
      client.server.port,
      [
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n" +
          `Content-Length: ${10 * 1024 * 1024}\r\n\r\n`,
        start,
      ],
      { timeoutMs: 3000, requireClose: true },
    );
    expect(reply.statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply.headerLines).toContainEqual(expect.stringMatching(/^connection: close$/i));
  });
});

describe("the client side", () => {
  const session = useSessions();

  it("a ClientSession reads a multipart/mixed response with the same reader", async () => {
    const data = randomBytes(200_000);
    const body = multipartBody("srv", [
      { headers: ["Content-Type: application/json"], body: '{"page":1}' },
      { headers: ['Content-Disposition: attachment; filename="blob.bin"'], body: data },
    ]);
    const client = await serve(
      appWith(
        () =>
          new web.Response({ body, headers: { "Content-Type": "multipart/mixed; boundary=srv" } }),
      ),
    );
    const resp = await session().get(client.makeUrl("/").toString());
    const reader = new MultipartReader(resp.headers, resp.content);
    const first = await reader.next();
    expect(first).toBeInstanceOf(BodyPartReader);
    expect(await (first as BodyPartReader).json()).toEqual({ page: 1 });
    const second = (await reader.next()) as BodyPartReader;
    expect(second.filename).toBe("blob.bin");
    expect(sha256(await second.read())).toBe(sha256(data));
    expect(await reader.next()).toBeNull();
  });
});

describe("request.multipart() with real clients", () => {
  it("curl -F uploads several files and a field", async (ctx) => {
    ctx.skip(!hasPeer("curl"));
    const client = await serve(appWith(upload));
    const one = randomBytes(700_000);
    const two = Buffer.from("plain text file\n".repeat(1000));
    await writeFile(join(dir, "one.bin"), one);
    await writeFile(join(dir, "two.txt"), two);
    const t = onlyTransfer(
      await curl({
        url: client.makeUrl("/upload").toString(),
        args: [
          "-F",
          "note=two files",
          "-F",
          `first=@${join(dir, "one.bin")};type=application/octet-stream`,
          "-F",
          `second=@${join(dir, "two.txt")};type=text/plain`,
        ],
      }),
    );
    expect(t.status).toBe(200);
    expect(JSON.parse(t.text)).toEqual([
      { name: "note", value: "two files" },
      savedFile("first", "one.bin", "application/octet-stream", one),
      savedFile("second", "two.txt", "text/plain", two),
    ]);
  });

  it("Python aiohttp's MultipartWriter with a nested multipart/mixed part", async (ctx) => {
    ctx.skip(!hasPeer("python3-aiohttp"));
    const client = await serve(appWith(upload));
    const script = `
import asyncio, sys, aiohttp
async def main(url):
    with aiohttp.MultipartWriter("form-data") as form:
        title = form.append("nested files")
        title.set_content_disposition("form-data", name="title")
        with aiohttp.MultipartWriter("mixed") as mixed:
            a = mixed.append(bytes(range(256)) * 4000, {"Content-Type": "application/octet-stream"})
            a.set_content_disposition("attachment", filename="a.bin")
            b = mixed.append("zweite Datei: \u00fc", {"Content-Type": "text/plain; charset=utf-8"})
            b.set_content_disposition("attachment", filename="b.txt")
        files = form.append(mixed)
        files.set_content_disposition("form-data", name="files")
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=form) as resp:
                print(resp.status)
                print(await resp.text())
asyncio.run(main(sys.argv[1]))
`;
    const done = await run(PYTHON, ["-c", script, client.makeUrl("/upload").toString()], {
      installHint: "sudo apt-get install -y python3-aiohttp",
    });
    expect(done.stderr).toBe("");
    const [status, json] = done.stdout.split("\n");
    expect(status).toBe("200");
    const binary = Buffer.concat(
      Array.from({ length: 4000 }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i))),
    );
    const text = Buffer.from("zweite Datei: ü");
    expect(JSON.parse(json as string)).toEqual([
      { name: "title", value: "nested files" },
      savedFile("files/", "a.bin", "application/octet-stream", binary),
      savedFile("files/", "b.txt", "text/plain", text),
    ]);
  });
});
