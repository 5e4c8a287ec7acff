// MultipartWriter: the exact bytes of a small body, its size, boundaries and header escaping,
// and round trips through a loopback TCP socket into our MultipartReader (nesting, binary,
// streams of unknown size).
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BodyPartReader,
  type MultipartPart,
  MultipartReader,
  MultipartWriter,
} from "../../src/http/multipart/index.js";

async function bytesOf(writer: MultipartWriter): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of writer) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Sends the writer's bytes over a loopback socket and reads them with MultipartReader. */
async function overSocket<T>(
  writer: MultipartWriter,
  read: (reader: MultipartReader) => Promise<T>,
): Promise<T> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const accepted = once(server, "connection") as Promise<[Socket]>;
    const client = connect(address.port, "127.0.0.1");
    const sent = pipeline(writer.stream(), client);
    const [socket] = await accepted;
    const result = await read(MultipartReader.fromContentType(writer.contentType, socket));
    await sent;
    return result;
  } finally {
    server.close();
  }
}

interface ReadPart {
  headers: Record<string, string>;
  body?: Buffer;
  nested?: ReadPart[];
}

async function readAll(reader: MultipartReader): Promise<ReadPart[]> {
  const out: ReadPart[] = [];
  for await (const part of reader as AsyncIterable<MultipartPart>) {
    const headers = part.headers.toObject();
    if (part instanceof BodyPartReader) out.push({ headers, body: await part.read() });
    else out.push({ headers, nested: await readAll(part) });
  }
  return out;
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("MultipartWriter bytes", () => {
  it("writes a small mixed body exactly as aiohttp lays it out, with its size", async () => {
    const writer = new MultipartWriter("mixed", "b0undary");
    writer.append("hello");
    writer.appendJson({ a: 1 });
    writer.append(Buffer.from([0, 255]), { "X-Id": "7" });
    const expected =
      "--b0undary\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello\r\n" +
      '--b0undary\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}\r\n' +
      "--b0undary\r\nX-Id: 7\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\n\r\n\u0000\u00ff\r\n" +
      "--b0undary--\r\n";
    const bytes = await bytesOf(writer);
    expect(bytes.equals(Buffer.from(expected, "latin1"))).toBe(true);
    expect(writer.size).toBe(bytes.length);
    expect(writer.headers).toEqual({ "Content-Type": "multipart/mixed; boundary=b0undary" });
  });

  it("names unnamed form-data parts section-N and gives them no Content-Length", async () => {
    const writer = new MultipartWriter("form-data", "B");
    writer.append("x");
    writer.appendForm([["k", "v w"]]);
    const text = (await bytesOf(writer)).toString();
    expect(text).toBe(
      '--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name="section-0"\r\n\r\nx\r\n' +
        '--B\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Disposition: form-data; name="section-1"\r\n\r\nk=v+w\r\n' +
        "--B--\r\n",
    );
  });

  it("a random boundary differs per writer; a given one is checked against RFC 2046", () => {
    expect(new MultipartWriter().boundary).not.toBe(new MultipartWriter().boundary);
    expect(() => new MultipartWriter("mixed", "a".repeat(71))).toThrow(TypeError);
    expect(() => new MultipartWriter("mixed", "ends in space ")).toThrow(TypeError);
    expect(() => new MultipartWriter("mixed", "bad\r\nX: y")).toThrow(TypeError);
    expect(() => new MultipartWriter("mixed", "")).toThrow(TypeError);
    expect(new MultipartWriter("mixed", "a b").contentType).toBe('multipart/mixed; boundary="a b"');
  });

  it("a filename cannot end its quoted string or add a header line", async () => {
    const writer = new MultipartWriter("form-data", "B");
    writer.append("x").setContentDisposition("form-data", {
      name: 'n"\r\nX-Injected: 1',
      filename: 'a"; name="evil"\r\n\r\nbody\\.txt',
    });
    const text = (await bytesOf(writer)).toString();
    expect(text).toContain(
      'Content-Disposition: form-data; name="n%22%0D%0AX-Injected: 1"; filename="a%22; name=%22evil%22%0D%0A%0D%0Abody\\\\.txt"\r\n',
    );
    expect(text).not.toMatch(/\r\nX-Injected/);
    const parts = await overSocket(writer, readAll);
    expect(parts).toHaveLength(1);
    expect(parts[0]?.headers["x-injected"]).toBeUndefined();
  });

  it("refuses part header values with CR or LF", () => {
    const writer = new MultipartWriter();
    expect(() => writer.append("x", { "Content-Type": "text/plain\r\nX-Evil: 1" })).toThrow(
      TypeError,
    );
  });

  it("writes non-ASCII names as UTF-8 that our reader reads back", async () => {
    const writer = new MultipartWriter("form-data");
    writer.append("v").setContentDisposition("form-data", { name: "名前", filename: "résumé.pdf" });
    const parts = await overSocket(writer, async (reader) => {
      const part = await reader.next();
      if (!(part instanceof BodyPartReader)) throw new Error("no part");
      return { name: part.name, filename: part.filename };
    });
    expect(parts).toEqual({ name: "名前", filename: "résumé.pdf" });
  });
});

describe("MultipartWriter round trips over a socket", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mpw-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("nested writers, binary parts and a Blob come back intact", async () => {
    const binary = randomBytes(70_000);
    const inner = new MultipartWriter("alternative");
    inner.append("plain");
    inner.append("<b>html</b>", { "Content-Type": "text/html" });
    const outer = new MultipartWriter("mixed");
    outer.appendJson({ ok: true });
    outer.append(inner);
    outer.append(binary);
    outer.append(new Blob(["blob!"], { type: "text/x-blob" }));
    const size = outer.size;
    expect(size).toBe((await bytesOf(outer)).length);
    const parts = await overSocket(outer, readAll);
    expect(parts.map((p) => p.headers["content-type"])).toEqual([
      "application/json",
      inner.contentType,
      "application/octet-stream",
      "text/x-blob",
    ]);
    expect(parts[0]?.body?.toString()).toBe('{"ok":true}');
    expect(parts[1]?.nested?.map((p) => p.body?.toString())).toEqual(["plain", "<b>html</b>"]);
    expect(sha256(parts[2]?.body ?? Buffer.alloc(0))).toBe(sha256(binary));
    expect(parts[3]?.body?.toString()).toBe("blob!");
  });

  it("streams of unknown size (generator, Readable, web ReadableStream) make the size null and are read once", async () => {
    const data = randomBytes(200_000);
    async function* generate(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
    }
    const writer = new MultipartWriter();
    writer.append(generate());
    writer.append(Readable.from([Buffer.from("abc"), Buffer.from("def")]));
    writer.append(new Blob(["web stream"]).stream());
    expect(writer.size).toBeNull();
    expect(writer.replayable).toBe(false);
    const parts = await overSocket(writer, readAll);
    expect(sha256(parts[0]?.body ?? Buffer.alloc(0))).toBe(sha256(data));
    expect(parts[1]?.body?.toString()).toBe("abcdef");
    expect(parts[2]?.body?.toString()).toBe("web stream");
    await expect(bytesOf(writer)).rejects.toThrow(/already read/);
  });

  it("a file stream's size is known from the file, so the body's is", async () => {
    const data = randomBytes(100_000);
    const path = join(dir, "data.bin");
    await writeFile(path, data);
    const writer = new MultipartWriter();
    writer.append(createReadStream(path));
    writer.append(createReadStream(path, { start: 10, end: 19 }));
    const parts = await overSocket(writer, readAll);
    expect(parts[0]?.headers["content-length"]).toBe(String(data.length));
    expect(sha256(parts[0]?.body ?? Buffer.alloc(0))).toBe(sha256(data));
    expect(parts[1]?.body?.equals(data.subarray(10, 20))).toBe(true);
  });

  it("a part that is not read stops the writer (backpressure)", async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        produced += 65536;
        yield Buffer.alloc(65536);
      }
    }
    const writer = new MultipartWriter();
    writer.append(endless());
    const stream = writer.stream();
    await once(stream, "readable");
    const before = produced;
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(produced).toBe(before);
    expect(produced).toBeLessThan(1024 * 1024);
    stream.destroy();
  });
});
