// Tests of StreamReader: aiohttp's read methods, backpressure onto the source, limits, errors,
// over plain node streams and over a real node:http request body.
import { once } from "node:events";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { PassThrough, Readable } from "node:stream";
import { setImmediate as nextMacrotask, setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  IncompleteReadError,
  LineTooLongError,
  StreamClosedError,
  StreamReadError,
  StreamReader,
} from "../../src/http/stream-reader.js";

const b = (text: string): Buffer => Buffer.from(text);

/** A source that emits exactly the given chunks, then ends. */
function chunked(...chunks: string[]): Readable {
  return Readable.from(chunks.map(b));
}

/** Reads everything via readany() and returns it as a string. */
async function drain(reader: StreamReader): Promise<string> {
  const parts: Buffer[] = [];
  for await (const data of reader.iterAny()) parts.push(data);
  return Buffer.concat(parts).toString();
}

describe("read()", () => {
  it("without n reads everything until EOF", async () => {
    const reader = new StreamReader(chunked("hello ", "wor", "ld"));
    expect((await reader.read()).toString()).toBe("hello world");
    expect(reader.atEof()).toBe(true);
    expect((await reader.read()).length).toBe(0);
  });

  it("with n returns as soon as some data is there, at most n bytes", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source);
    const pending = reader.read(10);
    source.write("abc");
    expect((await pending).toString()).toBe("abc");
    source.end("defghijklmnop");
    await reader.waitEof();
    expect((await reader.read(10)).toString()).toBe("defghijklm");
    expect((await reader.read(10)).toString()).toBe("nop");
    expect((await reader.read(10)).length).toBe(0);
  });

  it("with n spans buffered chunks", async () => {
    const reader = new StreamReader(chunked("ab", "cd", "ef"));
    await reader.waitEof();
    expect((await reader.read(5)).toString()).toBe("abcde");
    expect((await reader.read(5)).toString()).toBe("f");
  });

  it("read(0) returns an empty buffer without waiting", async () => {
    const reader = new StreamReader(new PassThrough());
    expect((await reader.read(0)).length).toBe(0);
  });
});

describe("readany() and readchunk()", () => {
  it("readany() returns everything buffered, then an empty buffer at EOF", async () => {
    const reader = new StreamReader(chunked("a", "b", "c"));
    await reader.waitEof();
    expect((await reader.readany()).toString()).toBe("abc");
    expect((await reader.readany()).length).toBe(0);
  });

  it("readchunk() returns chunks as the source delivered them and [empty, false] at EOF", async () => {
    const reader = new StreamReader(chunked("one", "two"));
    await reader.waitEof();
    const [first, endOfFirst] = await reader.readchunk();
    expect([first.toString(), endOfFirst]).toEqual(["one", false]);
    expect((await reader.readchunk())[0].toString()).toBe("two");
    const [last, endOfLast] = await reader.readchunk();
    expect([last.length, endOfLast]).toEqual([0, false]);
  });
});

describe("readline() and readuntil()", () => {
  it("readline() joins a line split across chunk boundaries", async () => {
    const reader = new StreamReader(chunked("he", "llo", "\nwo", "rld\n", "tail"));
    expect((await reader.readline()).toString()).toBe("hello\n");
    expect((await reader.readline()).toString()).toBe("world\n");
    expect((await reader.readline()).toString()).toBe("tail");
    expect((await reader.readline()).length).toBe(0);
  });

  it("async iteration yields lines like aiohttp's `async for line in content`", async () => {
    const reader = new StreamReader(chunked("a\nb", "\n\nc"));
    const lines: string[] = [];
    for await (const line of reader) lines.push(line.toString());
    expect(lines).toEqual(["a\n", "b\n", "\n", "c"]);
  });

  it("readuntil() finds a multi-byte separator that spans three chunks", async () => {
    const reader = new StreamReader(chunked("aE", "N", "Drest", "--", "\r", "\nx"));
    expect((await reader.readuntil("END")).toString()).toBe("aEND");
    expect((await reader.readuntil(b("\r\n"))).toString()).toBe("rest--\r\n");
    expect((await reader.readuntil("\r\n")).toString()).toBe("x");
  });

  it("readuntil() finds a separator that arrives while it waits", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source);
    const line = reader.readuntil("\r\n");
    source.write("GET / HTTP/1.1\r");
    await nextMacrotask();
    source.write("\nHost: x\r\n");
    expect((await line).toString()).toBe("GET / HTTP/1.1\r\n");
    expect((await reader.readuntil("\r\n")).toString()).toBe("Host: x\r\n");
  });

  it("readuntil() rejects an empty separator", async () => {
    await expect(StreamReader.empty().readuntil("")).rejects.toThrow(RangeError);
  });

  it("readline() accepts a line of exactly lineLimit bytes", async () => {
    const reader = new StreamReader(chunked("123456789\n"), { lineLimit: 10 });
    expect((await reader.readline()).toString()).toBe("123456789\n");
  });

  it("readline() over lineLimit throws LineTooLongError and leaves the data buffered", async () => {
    const reader = new StreamReader(chunked("1234567890", "\nok\n"), { lineLimit: 10 });
    const err = await reader.readline().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LineTooLongError);
    expect(err).toMatchObject({ limit: 10, code: "AIOHTTP_LINE_TOO_LONG" });
    expect((await reader.read(11)).toString()).toBe("1234567890\n");
    expect((await reader.readline()).toString()).toBe("ok\n");
  });

  it("readline() fails as soon as more than lineLimit bytes arrive without a newline", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source, { lineLimit: 100 });
    const line = reader.readline();
    source.write(Buffer.alloc(60, "a"));
    source.write(Buffer.alloc(60, "a"));
    await expect(line).rejects.toThrow(LineTooLongError);
    source.destroy();
  });
});

describe("readexactly()", () => {
  it("waits for exactly n bytes across chunks", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source);
    const pending = reader.readexactly(5);
    source.write("ab");
    await nextMacrotask();
    source.write("cdefg");
    expect((await pending).toString()).toBe("abcde");
    expect((await reader.readexactly(2)).toString()).toBe("fg");
  });

  it("past EOF throws IncompleteReadError carrying the partial bytes", async () => {
    const reader = new StreamReader(chunked("abc"));
    const err = await reader.readexactly(10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompleteReadError);
    if (!(err instanceof IncompleteReadError)) return;
    expect(err.partial.toString()).toBe("abc");
    expect(err.expected).toBe(10);
    expect(err.message).toBe("3 bytes read on a total of 10 expected bytes");
    expect(err.name).toBe("IncompleteReadError");
    expect(reader.atEof()).toBe(true);
  });

  it("can wait for more than highWaterMark bytes", async () => {
    const reader = new StreamReader(Readable.from([Buffer.alloc(300, 1), Buffer.alloc(300, 2)]), {
      highWaterMark: 100,
    });
    const data = await reader.readexactly(550);
    expect(data.length).toBe(550);
    expect(data[549]).toBe(2);
  });
});

describe("iteration", () => {
  it("iterChunked(n) yields pieces of exactly n bytes except the last", async () => {
    const reader = new StreamReader(chunked("abcd", "e", "fghij", "k"));
    const pieces: string[] = [];
    for await (const piece of reader.iterChunked(3)) pieces.push(piece.toString());
    expect(pieces).toEqual(["abc", "def", "ghi", "jk"]);
  });

  it("iterAny() yields everything as it arrives", async () => {
    expect(await drain(new StreamReader(chunked("x", "y", "z")))).toBe("xyz");
  });

  it("iterChunked() rejects a size below 1", async () => {
    await expect(StreamReader.empty().iterChunked(0).next()).rejects.toThrow(RangeError);
  });
});

describe("state", () => {
  it("an empty reader is at EOF and reads nothing", async () => {
    const reader = StreamReader.empty();
    expect(reader.atEof()).toBe(true);
    expect((await reader.read()).length).toBe(0);
    expect((await reader.readline()).length).toBe(0);
    const err = await reader.readexactly(1).catch((e: unknown) => e);
    expect(err).toMatchObject({ expected: 1, partial: Buffer.alloc(0) });
    await reader.waitEof();
  });

  it("isEof() is true once the source ended, atEof() only once the buffer is read too", async () => {
    const reader = new StreamReader(chunked("data"));
    await reader.waitEof();
    expect(reader.isEof()).toBe(true);
    expect(reader.atEof()).toBe(false);
    await reader.read();
    expect(reader.atEof()).toBe(true);
  });

  it("totalBytes counts bytes received from the source, read or not", async () => {
    const reader = new StreamReader(chunked("abc", "de"));
    await reader.waitEof();
    expect(reader.totalBytes).toBe(5);
    await reader.read(2);
    expect(reader.totalBytes).toBe(5);
  });

  it("unreadData() puts bytes back in front of the buffer", async () => {
    const reader = new StreamReader(chunked("hello", " world"));
    const head = await reader.readexactly(3);
    reader.unreadData(head);
    reader.unreadData(b(">"));
    expect((await reader.read()).toString()).toBe(">hello world");
  });

  it("a reader over an already ended source is at EOF", async () => {
    const source = chunked("x");
    source.resume();
    await once(source, "end");
    const reader = new StreamReader(source);
    expect(reader.atEof()).toBe(true);
  });

  it("two reads waiting at once is an error, like aiohttp's RuntimeError", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source);
    const first = reader.read();
    await expect(reader.readany()).rejects.toThrow(
      "readany() called while another read is already waiting for incoming data",
    );
    source.end("ok");
    expect((await first).toString()).toBe("ok");
  });
});

describe("backpressure", () => {
  it("a slow consumer of 10 MiB never has more than highWaterMark plus one chunk buffered", async () => {
    const total = 10 * 1024 * 1024;
    const chunkSize = 16 * 1024;
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= total) {
          this.push(null);
          return;
        }
        produced += chunkSize;
        this.push(Buffer.alloc(chunkSize, produced / chunkSize));
      },
    });
    let pauses = 0;
    source.on("pause", () => pauses++);
    const reader = new StreamReader(source);
    let consumed = 0;
    let maxBuffered = 0;
    // Added after the reader's listener, so it sees the buffer right after each chunk.
    source.on("data", () => {
      maxBuffered = Math.max(maxBuffered, reader.totalBytes - consumed);
    });

    for (;;) {
      const data = await reader.read(4096);
      if (data.length === 0) break;
      consumed += data.length;
      await nextMacrotask();
    }

    expect(consumed).toBe(total);
    expect(pauses).toBeGreaterThan(100);
    expect(maxBuffered).toBeGreaterThan(65536);
    expect(maxBuffered).toBeLessThanOrEqual(65536 + chunkSize);
  });

  it("a body nobody reads stops flowing at highWaterMark", async () => {
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) yield Buffer.alloc(1000);
      })(),
    );
    const reader = new StreamReader(source, { highWaterMark: 10_000 });
    await sleep(50);
    expect(reader.totalBytes).toBeGreaterThan(10_000);
    expect(reader.totalBytes).toBeLessThanOrEqual(11_000);
    expect(source.isPaused()).toBe(true);
    reader.cancel();
  });
});

describe("maxSize", () => {
  it("over maxSize fails with onTooLarge's error, drops the data listener and pauses", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source, {
      maxSize: 10,
      onTooLarge: (received, maxSize) => new RangeError(`${received} > ${maxSize}`),
    });
    const pending = reader.read();
    source.write("123456");
    source.write("789012");
    await expect(pending).rejects.toThrow(new RangeError("12 > 10"));
    await expect(reader.readany()).rejects.toThrow("12 > 10");
    expect(source.listenerCount("data")).toBe(0);
    expect(source.isPaused()).toBe(true);
    source.write("more that must not be buffered");
    expect(reader.totalBytes).toBe(12);
  });

  it("by default fails with 'payload larger than N bytes'", async () => {
    const reader = new StreamReader(chunked("12345", "67890", "1"), { maxSize: 10 });
    await expect(reader.read()).rejects.toThrow("payload larger than 10 bytes");
    await expect(reader.waitEof()).rejects.toThrow("payload larger than 10 bytes");
  });

  it("a body of exactly maxSize bytes is fine", async () => {
    const reader = new StreamReader(chunked("12345", "67890"), { maxSize: 10 });
    expect((await reader.read()).toString()).toBe("1234567890");
  });
});

describe("errors and cancellation", () => {
  it("a source error rejects the waiting and later reads with StreamReadError, cause set", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source);
    const pending = reader.readline();
    const boom = new Error("boom");
    source.destroy(boom);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamReadError);
    expect(err).toMatchObject({ cause: boom, code: "AIOHTTP_STREAM_READ" });
    await expect(reader.read()).rejects.toBe(err);
    expect(reader.exception()).toBe(err);
  });

  it("a connection reset becomes a StreamClosedError", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source);
    const reset = Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    source.destroy(reset);
    const err = await reader.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamClosedError);
    expect(err).toMatchObject({ cause: reset, code: "AIOHTTP_STREAM_CLOSED" });
  });

  it("'close' before 'end' rejects with StreamClosedError", async () => {
    const source = new PassThrough();
    const reader = new StreamReader(source);
    source.write("partial");
    const pending = reader.readexactly(100);
    source.destroy();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamClosedError);
    expect(err).toMatchObject({ message: "Connection closed before the body was complete" });
  });

  it("a reader over an already destroyed source fails", async () => {
    const source = new PassThrough();
    source.destroy();
    await expect(new StreamReader(source).read()).rejects.toThrow(StreamClosedError);
  });

  it("setException() rejects the waiting read and waitEof()", async () => {
    const reader = new StreamReader(new PassThrough());
    const pending = reader.read();
    const eof = reader.waitEof();
    const err = new Error("stop");
    reader.setException(err);
    await expect(pending).rejects.toBe(err);
    await expect(eof).rejects.toBe(err);
    expect(reader.exception()).toBe(err);
  });

  it("cancel() drains a paused source so it ends, and leaves the reader at EOF", async () => {
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 100; i++) yield Buffer.alloc(10_000);
      })(),
    );
    const reader = new StreamReader(source, { highWaterMark: 1000 });
    await sleep(10);
    expect(source.isPaused()).toBe(true);
    const ended = once(source, "end");
    reader.cancel();
    await ended;
    expect(source.listenerCount("data")).toBe(0);
    expect(reader.atEof()).toBe(true);
    expect((await reader.read()).length).toBe(0);
    await reader.waitEof();
  });

  it("cancel() ends the waiting read with EOF", async () => {
    const reader = new StreamReader(new PassThrough());
    const pending = reader.read();
    const eof = reader.waitEof();
    reader.cancel();
    expect((await pending).length).toBe(0);
    await eof;
  });

  it("cancel(reason) rejects the waiting and later reads with the reason", async () => {
    const reader = new StreamReader(new PassThrough());
    const pending = reader.readany();
    const reason = new Error("client went away");
    reader.cancel(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(reader.read()).rejects.toBe(reason);
  });
});

describe("over node:http", () => {
  async function listen(
    handler: (req: IncomingMessage) => Promise<string>,
  ): Promise<{ server: Server; port: number }> {
    const server = createServer((req, res) => {
      handler(req).then(
        (body) => res.end(body),
        (err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        },
      );
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return { server, port: (server.address() as AddressInfo).port };
  }

  it("reads lines of a chunked request body sent slowly", async () => {
    let transferEncoding: string | undefined;
    const { server, port } = await listen(async (req) => {
      transferEncoding = req.headers["transfer-encoding"];
      const lines: string[] = [];
      for await (const line of new StreamReader(req)) lines.push(line.toString());
      return JSON.stringify(lines);
    });
    try {
      const req = request({ host: "127.0.0.1", port, method: "POST", path: "/" });
      const response = once(req, "response");
      for (const piece of ["hel", "lo\nwor", "ld\n", "tail"]) {
        req.write(piece);
        await sleep(20);
      }
      req.end();
      const [res] = (await response) as [IncomingMessage];
      const body = await new StreamReader(res).read();
      expect(transferEncoding).toBe("chunked");
      expect(JSON.parse(body.toString())).toEqual(["hello\n", "world\n", "tail"]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("a client that disconnects mid-body makes the server's read fail with StreamClosedError", async () => {
    let settle: (err: unknown) => void = () => {};
    const serverError = new Promise<unknown>((resolve) => {
      settle = resolve;
    });
    const { server, port } = await listen(async (req) => {
      settle(await new StreamReader(req).readexactly(100).catch((e: unknown) => e));
      return "";
    });
    try {
      const socket = connect(port, "127.0.0.1");
      await once(socket, "connect");
      socket.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789");
      await sleep(20);
      socket.destroy();
      const err = await serverError;
      expect(err).toBeInstanceOf(StreamClosedError);
      expect(err).toMatchObject({ cause: { code: "ECONNRESET" } });
    } finally {
      server.close();
    }
  });
});

describe("properties", () => {
  type Op =
    | { kind: "read"; n: number }
    | { kind: "readAll" }
    | { kind: "readany" }
    | { kind: "readchunk" }
    | { kind: "readline" }
    | { kind: "readuntil"; separator: string }
    | { kind: "readexactly"; n: number };

  // Separators of one and several bytes, some that overlap themselves ("aa", "-a-").
  const separator = fc.constantFrom("\n", "\r\n", "--b", "aa", "-a-", "\x00\xff");

  // Every op consumes or waits: a loop of readexactly(0) alone would spin on microtasks and
  // starve the source's events.
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("read" as const), n: fc.integer({ min: 1, max: 64 }) }),
    fc.constant({ kind: "readAll" as const }),
    fc.constant({ kind: "readany" as const }),
    fc.constant({ kind: "readchunk" as const }),
    fc.constant({ kind: "readline" as const }),
    fc.record({ kind: fc.constant("readuntil" as const), separator }),
    fc.record({ kind: fc.constant("readexactly" as const), n: fc.integer({ min: 1, max: 64 }) }),
  );

  /** Splits `bytes` at the given cut points (taken modulo its length) into Buffers. */
  function split(bytes: Uint8Array, cuts: number[]): Buffer[] {
    const points = cuts.map((cut) => cut % (bytes.length + 1)).sort((x, y) => x - y);
    const chunks: Buffer[] = [];
    let start = 0;
    for (const point of [...points, bytes.length]) {
      chunks.push(Buffer.from(bytes.subarray(start, point)));
      start = point;
    }
    return chunks;
  }

  async function apply(reader: StreamReader, step: Op): Promise<Buffer> {
    switch (step.kind) {
      case "read":
        return reader.read(step.n);
      case "readAll":
        return reader.read();
      case "readany":
        return reader.readany();
      case "readchunk":
        return (await reader.readchunk())[0];
      case "readline":
        return reader.readline();
      case "readuntil":
        return reader.readuntil(Buffer.from(step.separator, "latin1"));
      case "readexactly":
        try {
          return await reader.readexactly(step.n);
        } catch (err) {
          if (err instanceof IncompleteReadError) return err.partial;
          throw err;
        }
    }
  }

  // Random bytes with the separators' bytes mixed in, so that lines and pieces are short.
  const bytes = fc
    .array(
      fc.oneof(
        fc.uint8Array({ maxLength: 40 }),
        separator.map((sep) => new Uint8Array(Buffer.from(sep, "latin1"))),
      ),
      { maxLength: 30 },
    )
    .map((pieces) => new Uint8Array(Buffer.concat(pieces)).subarray(0, 600));
  const cuts = fc.array(fc.nat({ max: 600 }), { maxLength: 20 });
  const highWaterMark = fc.integer({ min: 0, max: 128 });

  it("any chunking read by any mix of read methods gives back the same bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes,
        cuts,
        highWaterMark,
        fc.array(op, { minLength: 1, maxLength: 8 }),
        async (data, points, hwm, ops) => {
          const reader = new StreamReader(Readable.from(split(data, points)), {
            highWaterMark: hwm,
            lineLimit: 1000,
          });
          const parts: Buffer[] = [];
          for (let i = 0; !reader.atEof(); i++)
            parts.push(await apply(reader, ops[i % ops.length]));
          expect(Buffer.concat(parts).equals(Buffer.from(data))).toBe(true);
        },
      ),
    );
  });

  it("iterChunked(n) over any chunking yields n-byte pieces that add up to the input", async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes,
        cuts,
        highWaterMark,
        fc.integer({ min: 1, max: 100 }),
        async (data, points, hwm, n) => {
          const reader = new StreamReader(Readable.from(split(data, points)), {
            highWaterMark: hwm,
          });
          const pieces: Buffer[] = [];
          for await (const piece of reader.iterChunked(n)) pieces.push(piece);
          expect(Buffer.concat(pieces).equals(Buffer.from(data))).toBe(true);
          for (const piece of pieces.slice(0, -1)) expect(piece.length).toBe(n);
          const last = pieces.at(-1);
          if (last !== undefined) expect(last.length).toBeGreaterThan(0);
          if (last !== undefined) expect(last.length).toBeLessThanOrEqual(n);
        },
      ),
    );
  });

  type ExactOp =
    | { kind: "readline" }
    | { kind: "readuntil"; separator: string }
    | { kind: "readexactly"; n: number };

  /**
   * What readline, readuntil and readexactly return (or throw) on the whole input at once:
   * their results depend on the bytes only, never on how they arrived.
   */
  function model(data: Buffer, ops: ExactOp[], lineLimit: number): string[] {
    const out: string[] = [];
    let pos = 0;
    for (const step of ops) {
      if (step.kind === "readexactly") {
        const rest = data.length - pos;
        if (rest < step.n) {
          out.push(`incomplete ${data.subarray(pos).toString("hex")}/${step.n}`);
          pos = data.length;
        } else {
          out.push(data.subarray(pos, pos + step.n).toString("hex"));
          pos += step.n;
        }
        continue;
      }
      const sep = Buffer.from(step.kind === "readline" ? "\n" : step.separator, "latin1");
      const at = data.indexOf(sep, pos);
      const end = at === -1 ? data.length : at + sep.length;
      // Too long: an error, and the bytes stay for the next read.
      if (end - pos > lineLimit) {
        out.push("too long");
        continue;
      }
      out.push(data.subarray(pos, end).toString("hex"));
      pos = end;
    }
    out.push(`rest ${data.subarray(pos).toString("hex")}`);
    return out;
  }

  async function run(reader: StreamReader, ops: ExactOp[]): Promise<string[]> {
    const out: string[] = [];
    for (const step of ops) {
      try {
        const got =
          step.kind === "readexactly"
            ? await reader.readexactly(step.n)
            : step.kind === "readline"
              ? await reader.readline()
              : await reader.readuntil(Buffer.from(step.separator, "latin1"));
        out.push(got.toString("hex"));
      } catch (err) {
        if (err instanceof IncompleteReadError) {
          out.push(`incomplete ${err.partial.toString("hex")}/${err.expected}`);
        } else if (err instanceof LineTooLongError) {
          out.push("too long");
        } else {
          throw err;
        }
      }
    }
    out.push(`rest ${(await reader.read()).toString("hex")}`);
    return out;
  }

  const exactOp: fc.Arbitrary<ExactOp> = fc.oneof(
    fc.constant({ kind: "readline" as const }),
    fc.record({ kind: fc.constant("readuntil" as const), separator }),
    fc.record({ kind: fc.constant("readexactly" as const), n: fc.integer({ min: 0, max: 80 }) }),
  );

  it("readline, readuntil and readexactly give the same results, errors included, whatever the chunking", async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes,
        cuts,
        highWaterMark,
        fc.integer({ min: 1, max: 120 }),
        fc.array(exactOp, { minLength: 1, maxLength: 12 }),
        async (data, points, hwm, lineLimit, ops) => {
          const reader = new StreamReader(Readable.from(split(data, points)), {
            highWaterMark: hwm,
            lineLimit,
          });
          expect(await run(reader, ops)).toEqual(model(Buffer.from(data), ops, lineLimit));
        },
      ),
      { numRuns: 300 },
    );
  });
});
