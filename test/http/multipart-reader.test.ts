// Tests of the shared MultipartReader over real Node streams: parts and their headers, nested
// multipart, decoding, chunking, every malformed case, the header limits and backpressure.
import { createHash, randomBytes } from "node:crypto";
import { PassThrough, Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  BodyPartReader,
  MultipartError,
  MultipartLimitError,
  type MultipartPart,
  MultipartReader,
  type MultipartReaderOptions,
} from "../../src/http/multipart/index.js";
import { StreamClosedError, StreamReadError, StreamReader } from "../../src/http/stream-reader.js";
import { rejection, settlesWithin } from "../helpers.js";

const CRLF = "\r\n";

/** One part: its header lines and its body. */
interface PartSpec {
  headers: string[];
  body: string | Buffer;
}

/** A multipart body with boundary `b` (or the given one), final delimiter included. */
function multipart(parts: PartSpec[], boundary = "b"): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    pieces.push(
      Buffer.from(`--${boundary}${CRLF}${part.headers.map((h) => h + CRLF).join("")}${CRLF}`),
    );
    pieces.push(Buffer.isBuffer(part.body) ? part.body : Buffer.from(part.body));
    pieces.push(Buffer.from(CRLF));
  }
  pieces.push(Buffer.from(`--${boundary}--${CRLF}`));
  return Buffer.concat(pieces);
}

function field(name: string, value: string, ...headers: string[]): PartSpec {
  return { headers: [`Content-Disposition: form-data; name="${name}"`, ...headers], body: value };
}

/** A Readable that delivers `data` in chunks of `size` bytes. */
function source(data: Buffer | string, size = 65536): Readable {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  return Readable.from(chunks, { objectMode: false });
}

function reader(
  data: Buffer | string,
  options: MultipartReaderOptions & { chunk?: number; boundary?: string } = {},
): MultipartReader {
  const { chunk, boundary = "b", ...rest } = options;
  return MultipartReader.fromContentType(
    `multipart/form-data; boundary=${boundary}`,
    source(data, chunk),
    rest,
  );
}

function bodyPart(part: MultipartPart | null): BodyPartReader {
  expect(part).toBeInstanceOf(BodyPartReader);
  return part as BodyPartReader;
}

function nested(part: MultipartPart | null): MultipartReader {
  expect(part).toBeInstanceOf(MultipartReader);
  return part as MultipartReader;
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A Writable that hashes what it gets. */
function hashSink(): { sink: Writable; digest: () => string; bytes: () => number } {
  const hash = createHash("sha256");
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb();
    },
  });
  return { sink, digest: () => hash.digest("hex"), bytes: () => bytes };
}

describe("MultipartReader: parts", () => {
  it("hands out each part with its name, filename and headers, then null", async () => {
    const r = reader(
      multipart([
        field("title", "Hello"),
        {
          headers: [
            'Content-Disposition: form-data; name="doc"; filename="a b.txt"',
            "Content-Type: text/plain",
            "X-Custom: one",
          ],
          body: "file body",
        },
      ]),
    );
    const first = bodyPart(await r.next());
    expect(first.name).toBe("title");
    expect(first.filename).toBeNull();
    expect(await first.text()).toBe("Hello");
    const second = bodyPart(await r.next());
    expect(second.name).toBe("doc");
    expect(second.filename).toBe("a b.txt");
    expect(second.headers.get("content-type")).toBe("text/plain");
    expect(second.headers.get("X-CUSTOM")).toBe("one");
    expect(second.contentType).toBe("text/plain");
    expect(await second.read()).toEqual(Buffer.from("file body"));
    expect(await r.next()).toBeNull();
    expect(r.atEof()).toBe(true);
    expect(await r.next()).toBeNull();
  });

  it("for await yields every part, even when the body arrives one byte at a time", async () => {
    const body = multipart([field("a", "1"), field("b", "22"), field("c", "")]);
    const seen: string[] = [];
    for await (const part of reader(body, { chunk: 1 })) {
      seen.push(`${part.name}=${await bodyPart(part).text()}`);
    }
    expect(seen).toEqual(["a=1", "b=22", "c="]);
  });

  it("ignores the preamble and the epilogue", async () => {
    const body = Buffer.concat([
      Buffer.from(`This is the preamble.${CRLF}`),
      multipart([field("a", "x")]),
      Buffer.from("this is the epilogue"),
    ]);
    const r = reader(body);
    expect(await bodyPart(await r.next()).text()).toBe("x");
    expect(await r.next()).toBeNull();
  });

  it("reads a body given as a StreamReader, as the server and client expose bodies", async () => {
    const content = new StreamReader(source(multipart([field("a", "from a StreamReader")])));
    const r = MultipartReader.fromContentType("multipart/form-data; boundary=b", content);
    expect(await bodyPart(await r.next()).text()).toBe("from a StreamReader");
    expect(await r.next()).toBeNull();
  });

  it("takes the boundary from headers given as a record, quoted or not", async () => {
    const body = multipart([field("a", "q")], "gc0p4Jq0M2Yt08jU534c0p");
    const r = new MultipartReader(
      { "content-type": 'multipart/form-data; boundary="gc0p4Jq0M2Yt08jU534c0p"' },
      source(body),
    );
    expect(r.boundary).toBe("gc0p4Jq0M2Yt08jU534c0p");
    expect(await bodyPart(await r.next()).text()).toBe("q");
  });

  it("moving to the next part skips the unread rest of the current one", async () => {
    const big = randomBytes(300_000);
    const r = reader(
      multipart([
        { headers: ['Content-Disposition: form-data; name="big"'], body: big },
        field("after", "ok"),
      ]),
      { chunk: 4096 },
    );
    const first = bodyPart(await r.next());
    expect((await first.readChunk(10)).length).toBe(10);
    const second = bodyPart(await r.next());
    expect(second.name).toBe("after");
    expect(first.atEof()).toBe(true);
    expect(await second.text()).toBe("ok");
  });

  it("concurrent next() calls get the parts in order", async () => {
    const r = reader(multipart([field("a", "1"), field("b", "2")]));
    const [a, b, end] = await Promise.all([r.next(), r.next(), r.next()]);
    expect(a?.name).toBe("a");
    expect(b?.name).toBe("b");
    expect(end).toBeNull();
  });

  it("release() reads every remaining part to the void", async () => {
    const r = reader(multipart([field("a", "1"), field("b", "2")]));
    await r.release();
    expect(r.atEof()).toBe(true);
    expect(await r.next()).toBeNull();
  });
});

describe("MultipartReader: part contents", () => {
  it("streams a large part given in small chunks through stream(), intact", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const r = reader(
      multipart([
        { headers: ['Content-Disposition: form-data; name="f"; filename="big.bin"'], body: data },
      ]),
      { chunk: 997 },
    );
    const part = bodyPart(await r.next());
    const { sink, digest, bytes } = hashSink();
    await pipeline(part.stream(), sink);
    expect(bytes()).toBe(data.length);
    expect(digest()).toBe(sha256(data));
    expect(await r.next()).toBeNull();
  });

  it("a consumer that gives up on stream() early does not stall the reader", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const r = reader(multipart([{ headers: [], body: data }, field("after", "still here")]), {
      chunk: 16 * 1024,
    });
    const part = bodyPart(await r.next());
    const failing = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error("disk full"));
      },
    });
    await expect(pipeline(part.stream(), failing)).rejects.toThrow("disk full");
    const after = bodyPart(await r.next());
    expect(await after.text()).toBe("still here");
    expect(await r.next()).toBeNull();
  });

  it("stream() is taken once, and the part is not read otherwise afterwards", async () => {
    const part = bodyPart(await reader(multipart([field("a", "x")])).next());
    const stream = part.stream();
    expect(() => part.stream()).toThrow("already taken");
    await expect(part.read()).rejects.toThrow("stream()");
    stream.resume();
  });

  it("readChunk() returns at most 8192 bytes by default, then an empty Buffer at the end", async () => {
    const data = Buffer.alloc(20_000, "x");
    const part = bodyPart(await reader(multipart([{ headers: [], body: data }])).next());
    let total = 0;
    for (;;) {
      const chunk = await part.readChunk();
      expect(chunk.length).toBeLessThanOrEqual(8192);
      if (chunk.length === 0) break;
      total += chunk.length;
    }
    expect(total).toBe(20_000);
    expect(part.atEof()).toBe(true);
    expect((await part.readChunk(5)).length).toBe(0);
  });

  it("a part is async-iterable over its chunks", async () => {
    const part = bodyPart(await reader(multipart([field("a", "chunks")]), { chunk: 3 }).next());
    const pieces: Buffer[] = [];
    for await (const chunk of part) pieces.push(chunk);
    expect(Buffer.concat(pieces).toString()).toBe("chunks");
  });

  it("read({ decode: true }) undoes base64 and quoted-printable transfer encodings", async () => {
    const r = reader(
      multipart([
        field(
          "b64",
          Buffer.from("héllo wörld").toString("base64"),
          "Content-Transfer-Encoding: base64",
        ),
        field("qp", "caf=C3=A9 =3D soft=\r\nbreak", "Content-Transfer-Encoding: quoted-printable"),
      ]),
    );
    const b64 = bodyPart(await r.next());
    expect((await b64.read({ decode: true })).toString()).toBe("héllo wörld");
    const qp = bodyPart(await r.next());
    expect(await qp.text()).toBe("café = softbreak");
  });

  it("read() without decode returns the bytes as sent", async () => {
    const encoded = Buffer.from("raw").toString("base64");
    const part = bodyPart(
      await reader(multipart([field("a", encoded, "Content-Transfer-Encoding: base64")])).next(),
    );
    expect((await part.read()).toString()).toBe(encoded);
  });

  it.each([
    ["gzip", zlib.gzipSync],
    ["deflate", zlib.deflateSync],
    ["deflate", zlib.deflateRawSync],
    ["br", zlib.brotliCompressSync],
  ] as const)("read({ decode: true }) undoes Content-Encoding %s", async (coding, compress) => {
    const text = "compressed part ".repeat(100);
    const part = bodyPart(
      await reader(
        multipart([
          { headers: [`Content-Encoding: ${coding}`], body: compress(Buffer.from(text)) },
        ]),
      ).next(),
    );
    expect(await part.text()).toBe(text);
  });

  it("an unknown encoding is a MultipartError with code AIOHTTP_MULTIPART_ENCODING", async () => {
    const part = bodyPart(
      await reader(multipart([field("a", "x", "Content-Transfer-Encoding: x-uuencode")])).next(),
    );
    const err = await rejection(part.read({ decode: true }));
    expect(err).toBeInstanceOf(MultipartError);
    expect((err as MultipartError).code).toBe("AIOHTTP_MULTIPART_ENCODING");
  });

  it("text() decodes with the part's charset", async () => {
    const latin1 = Buffer.from("façade", "latin1");
    const r = reader(
      multipart([
        { headers: ["Content-Type: text/plain; charset=iso-8859-1"], body: latin1 },
        {
          headers: ["Content-Type: text/plain; charset=windows-1251"],
          body: Buffer.from([0xcf, 0xf0, 0xe8]),
        },
      ]),
    );
    expect(await bodyPart(await r.next()).text()).toBe("façade");
    expect(await bodyPart(await r.next()).text()).toBe("При");
  });

  it("json() parses the part, null for an empty one; malformed JSON is a MultipartError", async () => {
    const r = reader(
      multipart([field("j", '{"a":[1,2]}'), field("empty", ""), field("bad", "{nope")]),
    );
    expect(await bodyPart(await r.next()).json()).toEqual({ a: [1, 2] });
    expect(await bodyPart(await r.next()).json()).toBeNull();
    const err = await rejection(bodyPart(await r.next()).json());
    expect(err).toBeInstanceOf(MultipartError);
    expect((err as MultipartError).code).toBe("AIOHTTP_MULTIPART_MALFORMED");
  });

  it("form() returns urlencoded fields in order, repeated names kept", async () => {
    const part = bodyPart(
      await reader(
        multipart([
          field(
            "f",
            "a=1&b=two+words&a=%E2%82%AC\r\n",
            "Content-Type: application/x-www-form-urlencoded",
          ),
        ]),
      ).next(),
    );
    expect(await part.form()).toEqual([
      ["a", "1"],
      ["b", "two words"],
      ["a", "€"],
    ]);
  });

  it("filename* (RFC 8187) wins over filename; raw UTF-8 filenames are decoded", async () => {
    const r = reader(
      multipart([
        {
          headers: [
            `Content-Disposition: form-data; name="f"; filename="EURO rates.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`,
          ],
          body: "1",
        },
        {
          headers: ['Content-Disposition: form-data; name="g"; filename="naïve 文件.txt"'],
          body: "2",
        },
        {
          headers: ['Content-Disposition: form-data; name="h"; filename="quote\\"d.txt"'],
          body: "3",
        },
      ]),
    );
    expect((await r.next())?.filename).toBe("€ rates.txt");
    expect((await r.next())?.filename).toBe("naïve 文件.txt");
    expect((await r.next())?.filename).toBe('quote"d.txt');
  });
});

describe("MultipartReader: nested multipart", () => {
  const inner = multipart(
    [
      {
        headers: [
          'Content-Disposition: attachment; filename="one.txt"',
          "Content-Type: text/plain",
        ],
        body: "first file",
      },
      {
        headers: [
          'Content-Disposition: attachment; filename="two.bin"',
          "Content-Transfer-Encoding: base64",
        ],
        body: Buffer.from("second file").toString("base64"),
      },
    ],
    "inner-boundary",
  );
  const outer = multipart([
    field("title", "files below"),
    {
      headers: [
        'Content-Disposition: form-data; name="files"',
        "Content-Type: multipart/mixed; boundary=inner-boundary",
      ],
      body: inner,
    },
    field("after", "the end"),
  ]);

  it.each([1, 13, 65536])(
    "a multipart/mixed part is a MultipartReader of its own (chunks of %i)",
    async (chunk) => {
      const r = reader(outer, { chunk });
      expect(await bodyPart(await r.next()).text()).toBe("files below");
      const files = nested(await r.next());
      expect(files.name).toBe("files");
      expect(files.boundary).toBe("inner-boundary");
      const one = bodyPart(await files.next());
      expect(one.filename).toBe("one.txt");
      expect(await one.text()).toBe("first file");
      const two = bodyPart(await files.next());
      expect(two.filename).toBe("two.bin");
      expect(await two.text()).toBe("second file");
      expect(await files.next()).toBeNull();
      expect(await bodyPart(await r.next()).text()).toBe("the end");
      expect(await r.next()).toBeNull();
    },
  );

  it("moving past an unread nested part skips all of it", async () => {
    const r = reader(outer, { chunk: 7 });
    await r.next();
    const files = nested(await r.next());
    expect(files.atEof()).toBe(false);
    const after = bodyPart(await r.next());
    expect(after.name).toBe("after");
    expect(await after.text()).toBe("the end");
    expect(await r.next()).toBeNull();
  });
});

describe("MultipartReader: malformed input", () => {
  async function malformed(
    promise: Promise<unknown>,
    code = "AIOHTTP_MULTIPART_MALFORMED",
  ): Promise<MultipartError> {
    const err = await rejection(promise);
    expect(err).toBeInstanceOf(MultipartError);
    expect((err as MultipartError).code).toBe(code);
    return err as MultipartError;
  }

  it.each([
    ["no boundary parameter", "multipart/form-data"],
    ["an empty boundary", 'multipart/form-data; boundary=""'],
    ["a boundary over 70 characters", `multipart/form-data; boundary=${"x".repeat(71)}`],
    ["a non-multipart type", "application/json"],
  ])("a Content-Type with %s is refused with AIOHTTP_MULTIPART_BOUNDARY", (_, contentType) => {
    let thrown: unknown;
    try {
      MultipartReader.fromContentType(contentType, source(""));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(MultipartError);
    expect((thrown as MultipartError).code).toBe("AIOHTTP_MULTIPART_BOUNDARY");
  });

  it("a body without the announced boundary fails and says so", async () => {
    const err = await malformed(reader(multipart([field("a", "1")], "other")).next());
    expect(err.message).toContain('"--b"');
  });

  it("an empty body fails", async () => {
    await malformed(reader("").next());
  });

  it("a body without its final delimiter fails the read of the last part", async () => {
    const body = `--b${CRLF}Content-Disposition: form-data; name="a"${CRLF}${CRLF}no end in sight`;
    const part = bodyPart(await reader(body).next());
    const err = await malformed(part.read());
    expect(err.message).toContain("final delimiter");
  });

  it("a body cut after a delimiter fails next()", async () => {
    const r = reader(`--b${CRLF}${CRLF}one${CRLF}--b${CRLF}`);
    expect(await bodyPart(await r.next()).text()).toBe("one");
    await malformed(r.next());
  });

  it("a body cut in a part's headers fails next()", async () => {
    await malformed(reader(`--b${CRLF}Content-Disposition: form-da`).next());
  });

  it("a part whose header block is not ended by an empty line fails", async () => {
    await malformed(reader(`--b${CRLF}Content-Type: text/plain${CRLF}--b--${CRLF}`).next());
  });

  it("a truncated part fails a pipeline from stream() instead of ending it short", async () => {
    const data = randomBytes(100_000);
    const body = Buffer.concat([Buffer.from(`--b${CRLF}${CRLF}`), data]);
    const part = bodyPart(await reader(body, { chunk: 1000 }).next());
    await malformed(pipeline(part.stream(), hashSink().sink));
  });

  it("a nested part with a bad boundary fails the outer reader", async () => {
    const r = reader(multipart([{ headers: ["Content-Type: multipart/mixed"], body: "x" }]));
    await malformed(r.next(), "AIOHTTP_MULTIPART_BOUNDARY");
    await malformed(r.next(), "AIOHTTP_MULTIPART_BOUNDARY");
  });

  it("a source that fails mid-body rejects the part's read with the source's error", async () => {
    const src = new PassThrough();
    const r = MultipartReader.fromContentType("multipart/form-data; boundary=b", src);
    src.write(`--b${CRLF}${CRLF}partial`);
    const part = bodyPart(await r.next());
    const read = part.read();
    src.destroy(Object.assign(new Error("socket reset"), { code: "ECONNRESET" }));
    expect(await rejection(read)).toBeInstanceOf(StreamClosedError);
    expect(await rejection(r.next())).toBeInstanceOf(StreamClosedError);
  });

  it("mapError turns the reader's errors into the caller's", async () => {
    class Mine extends Error {}
    const r = reader("", { mapError: (err) => new Mine(err.message, { cause: err }) });
    const err = await rejection(r.next());
    expect(err).toBeInstanceOf(Mine);
    expect(err.cause).toBeInstanceOf(MultipartError);
  });
});

describe("MultipartReader: a source that fails while a skipped part is read to its end", () => {
  // Found by the fuzz run (test/fuzz): next() let go of the part it was releasing, so when the
  // connection dropped meanwhile the failure never reached it and the handler hung for good.
  it.each([
    ["a body part", "text/plain"],
    ["a nested multipart part", "multipart/mixed; boundary=x"],
  ])("next() after %s it did not read rejects with the source's error", async (_, type) => {
    const source = new Readable({ read() {} });
    source.push(
      `--B${CRLF}Content-Disposition: form-data; name="skipped"${CRLF}` +
        `Content-Type: ${type}${CRLF}${CRLF}the start of a part and no more`,
    );
    const reader = MultipartReader.fromContentType("multipart/form-data; boundary=B", source);
    const skipped = await reader.next();
    expect(skipped?.name).toBe("skipped");
    const next = reader.next();
    // One turn of the event loop: next() is now reading the skipped part to its end.
    await nextMacrotask();
    source.destroy(new Error("connection lost"));
    expect(await settlesWithin(next, 2000)).toBe(true);
    const err = await rejection(next);
    expect(err).toBeInstanceOf(StreamReadError);
    expect(err.message).toContain("connection lost");
  });
});

describe("MultipartReader: header limits", () => {
  const headers = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-H${i}: v`);

  it("accepts 128 header fields and refuses 129 with MultipartLimitError", async () => {
    const ok = bodyPart(await reader(multipart([{ headers: headers(128), body: "x" }])).next());
    expect(ok.headers.size).toBe(128);
    const err = await rejection(reader(multipart([{ headers: headers(129), body: "x" }])).next());
    expect(err).toBeInstanceOf(MultipartLimitError);
    expect((err as MultipartLimitError).code).toBe("AIOHTTP_MULTIPART_LIMIT");
    expect((err as MultipartLimitError).limit).toBe("headerCount");
    expect((err as MultipartLimitError).max).toBe(128);
  });

  it("accepts a header block of 8190 bytes and refuses a longer one", async () => {
    // "X-Long: " + value = one line without its CRLF.
    const line = (length: number): string => `X-Long: ${"v".repeat(length - 8)}`;
    const ok = bodyPart(await reader(multipart([{ headers: [line(8190)], body: "x" }])).next());
    expect(ok.headers.get("x-long")?.length).toBe(8190 - 8);
    for (const length of [8191, 100_000]) {
      const err = await rejection(
        reader(multipart([{ headers: [line(length)], body: "x" }])).next(),
      );
      expect(err).toBeInstanceOf(MultipartLimitError);
      expect((err as MultipartLimitError).limit).toBe("headerSize");
    }
  });

  it("the limits are options", async () => {
    const err = await rejection(
      reader(multipart([{ headers: headers(3), body: "x" }]), { maxHeaderCount: 2 }).next(),
    );
    expect(err).toBeInstanceOf(MultipartLimitError);
    const ok = bodyPart(
      await reader(multipart([{ headers: [`X-Long: ${"v".repeat(20_000)}`], body: "x" }]), {
        maxHeaderSize: 32_768,
      }).next(),
    );
    expect(await ok.text()).toBe("x");
  });
});

describe("MultipartReader: decoded size limit", () => {
  const gzipped = (size: number): PartSpec => ({
    headers: ['Content-Disposition: form-data; name="z"', "Content-Encoding: gzip"],
    body: zlib.gzipSync(Buffer.alloc(size)),
  });

  it.each([
    ["gzip", zlib.gzipSync],
    ["deflate", zlib.deflateSync],
    ["br", zlib.brotliCompressSync],
  ] as const)(
    "a %s part inflating past maxDecodedSize is a MultipartLimitError",
    async (coding, compress) => {
      const part = bodyPart(
        await reader(
          multipart([
            { headers: [`Content-Encoding: ${coding}`], body: compress(Buffer.alloc(4097)) },
          ]),
          { maxDecodedSize: 4096 },
        ).next(),
      );
      const err = await rejection(part.read({ decode: true }));
      expect(err).toBeInstanceOf(MultipartLimitError);
      expect((err as MultipartLimitError).limit).toBe("decodedSize");
      expect((err as MultipartLimitError).max).toBe(4096);
    },
  );

  it("a part decoding to exactly maxDecodedSize is read whole", async () => {
    const part = bodyPart(
      await reader(multipart([gzipped(4096)]), { maxDecodedSize: 4096 }).next(),
    );
    expect((await part.read({ decode: true })).length).toBe(4096);
  });

  it("by default a bomb (100 MiB of zeros in ~100 KB of gzip) stops at 64 MiB", async () => {
    const part = bodyPart(await reader(multipart([gzipped(100 * 1024 ** 2)])).next());
    const err = await rejection(part.json());
    expect(err).toBeInstanceOf(MultipartLimitError);
    expect((err as MultipartLimitError).max).toBe(64 * 1024 ** 2);
  });
});

describe("MultipartReader: backpressure", () => {
  /** A 10 MiB body generated on demand, counting what the reader pulled. */
  function countingSource(data: Buffer): { src: Readable; pulled: () => number } {
    let offset = 0;
    const src = new Readable({
      highWaterMark: 16 * 1024,
      read(size) {
        const end = Math.min(data.length, offset + size);
        this.push(data.subarray(offset, end));
        offset = end;
        if (offset === data.length) this.push(null);
      },
    });
    return { src, pulled: () => offset };
  }

  it("a part nobody reads stops the reader from pulling the source beyond a bound", async () => {
    const data = randomBytes(10 * 1024 * 1024);
    const body = multipart([{ headers: ['Content-Disposition: form-data; name="f"'], body: data }]);
    const { src, pulled } = countingSource(body);
    const r = MultipartReader.fromContentType("multipart/form-data; boundary=b", src);
    const part = bodyPart(await r.next());
    // The reader fills its buffers, then stops pulling: wait until the count stands still.
    let atPause = -1;
    for (let still = 0; still < 20; ) {
      await nextMacrotask();
      still = pulled() === atPause ? still + 1 : 0;
      atPause = pulled();
    }
    expect(src.isPaused()).toBe(true);
    expect(atPause).toBeLessThan(512 * 1024);
    // Reading the part resumes the flow, to the end, intact.
    const { sink, digest } = hashSink();
    await pipeline(part.stream(), sink);
    expect(digest()).toBe(sha256(data));
    expect(pulled()).toBe(body.length);
  });

  it("a slow consumer keeps what is buffered bounded", async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const body = multipart([{ headers: [], body: data }]);
    const { src, pulled } = countingSource(body);
    const part = bodyPart(
      await MultipartReader.fromContentType("multipart/mixed; boundary=b", src).next(),
    );
    let consumed = 0;
    let maxAhead = 0;
    const hash = createHash("sha256");
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        consumed += chunk.length;
        hash.update(chunk);
        maxAhead = Math.max(maxAhead, pulled() - consumed);
        setImmediate(cb);
      },
    });
    await pipeline(part.stream(), slow);
    expect(hash.digest("hex")).toBe(sha256(data));
    expect(maxAhead).toBeLessThan(512 * 1024);
  });
});
