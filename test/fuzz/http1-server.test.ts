// Fuzz run of the HTTP/1.1 server: random mutations of valid requests (byte flips, insertions
// of bytes and of HTTP tokens, deletions, truncations, duplicated and swapped header lines,
// random chunked framing, pipelining, WebSocket frames of every kind after an upgrade) sent
// over raw node:net sockets to one server with a few routes (a plain GET, one reading the
// body, a urlencoded form, a multipart upload, a WebSocket echo). Every connection must end,
// with a response or a close, within a time bound; no handler may fail with a 500 or log an
// error; no unhandled rejection or uncaught exception may fire; no request may be left in
// flight; and the server must still answer valid requests afterwards.
//
// The number of mutated requests is FUZZ_REQUESTS (default 2000), sent in batches of 25
// connections at once: `FUZZ_REQUESTS=50000 npx vitest run test/fuzz` for a longer run. A
// run prints its fast-check seed (a failure also names the shrunk batch); rerun it with
// FUZZ_SEED=<seed> and the same FUZZ_REQUESTS.
import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ClientSession, FormData, WebSocketClosedError, WSMsgType, web } from "../../src/index.js";
import { httpSend } from "../helpers.js";

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2000);
const SEED =
  process.env.FUZZ_SEED === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.FUZZ_SEED);
const BATCH = 25;
/** How long a connection may stay open after the client has sent everything and half-closed. */
const CLOSE_WITHIN_MS = 5000;
// The run's length is set by FUZZ_REQUESTS, so its time limit follows it: a batch takes
// about 0.1-0.3 s here; a hung connection fails the batch after CLOSE_WITHIN_MS, then
// fast-check shrinks it (a few more batches).
const RUN_TIMEOUT_MS = 60_000 + (REQUESTS / BATCH) * 1000;

// ---------------------------------------------------------------------------------------------
// The server

/** What the server logged through `app.logger.error` (a handler failing is logged there). */
const logged: string[] = [];
const logger: web.Logger = {
  error: (message, ...args) => logged.push([message, ...args.map(String)].join(" ")),
  warn() {},
};

/** What each connection sent, by its client port: a handler left running names its input. */
const sentFrom = new Map<number, string>();

/** Handlers running now, by the request they serve: all must end once the clients are gone. */
const running = new Map<web.Request, string>();
const track: web.Middleware = async (request, handler) => {
  running.set(request, sentFrom.get(request.raw.socket?.remotePort ?? 0) ?? request.method);
  try {
    return await handler(request);
  } finally {
    running.delete(request);
  }
};

function makeApp(): web.Application {
  const app = new web.Application({ logger, clientMaxSize: 64 * 1024, middlewares: [track] });
  app.router.addGet("/", () => new web.Response({ text: "home" }));
  app.router.addGet("/items/{id:\\d+}", (request) => web.jsonResponse(request.matchInfo));
  app.router.addPost("/echo", async (request) => new web.Response({ body: await request.read() }));
  app.router.addPost("/form", async (request) =>
    web.jsonResponse([...(await request.post())].map(([k, v]) => [k, String(v)])),
  );
  app.router.addPost("/upload", async (request) => {
    const parts: Array<[string | null, number]> = [];
    for await (const part of await request.multipart()) {
      if (part instanceof web.MultipartReader) continue;
      parts.push([part.name, (await part.read()).length]);
    }
    return web.jsonResponse(parts);
  });
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    try {
      for await (const msg of ws) {
        if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
        else if (msg.type === WSMsgType.BINARY) await ws.sendBytes(msg.data);
      }
    } catch (err) {
      // The fuzzing client half-closes right after its frame: the echo may find it gone.
      if (!(err instanceof WebSocketClosedError)) throw err;
    }
    return ws;
  });
  return app;
}

// Not useAppForAll: the last test needs the runner, to check that no request is left in
// flight and that shutdown does not wait for one.
let runner: web.AppRunner;
let listening = 0;
const port = (): number => listening;
beforeAll(async () => {
  runner = new web.AppRunner(makeApp(), { accessLog: null, shutdownTimeout: 10_000 });
  await runner.setup();
  const site = new web.TCPSite(runner, "127.0.0.1", 0);
  await site.start();
  listening = site.port;
});
afterAll(async () => {
  await runner.cleanup();
});

// ---------------------------------------------------------------------------------------------
// Process-wide failures: listeners installed for the whole file, asserted never to have fired

const escaped: unknown[] = [];
const onEscape = (err: unknown): void => {
  escaped.push(err);
};
beforeAll(() => {
  process.on("unhandledRejection", onEscape);
  process.on("uncaughtException", onEscape);
});
afterAll(() => {
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
});

// ---------------------------------------------------------------------------------------------
// Valid requests, as latin1 text (one character per byte) so that a counterexample reads

const CRLF = "\r\n";

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("latin1");
}

/** A body sent with random chunked framing: chunk sizes, extensions and a trailer. */
const chunked = fc
  .record({
    body: fc.uint8Array({ maxLength: 200 }),
    cuts: fc.array(fc.nat({ max: 200 }), { maxLength: 6 }),
    upper: fc.boolean(),
    ext: fc.constantFrom("", ";a=b", ';name="v"'),
    trailer: fc.constantFrom("", `X-Trailer: t${CRLF}`),
  })
  .map(({ body, cuts, upper, ext, trailer }) => {
    const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
    let out = "";
    let start = 0;
    for (const point of [...points, body.length]) {
      if (point === start) continue;
      const size = (point - start).toString(16);
      out += `${upper ? size.toUpperCase() : size}${ext}${CRLF}`;
      out += latin1(body.subarray(start, point)) + CRLF;
      start = point;
    }
    return `${out}0${CRLF}${trailer}${CRLF}`;
  });

function head(requestLine: string, headers: string[]): string {
  return `${requestLine}${CRLF}Host: 127.0.0.1${CRLF}${headers.map((h) => h + CRLF).join("")}${CRLF}`;
}

const BOUNDARY = "fuzzBoundary7MA4YWxk";
const multipart = latin1(
  Buffer.from(
    [
      `--${BOUNDARY}`,
      'Content-Disposition: form-data; name="field"',
      "",
      "value",
      `--${BOUNDARY}`,
      'Content-Disposition: form-data; name="file"; filename="a.txt"',
      "Content-Type: text/plain",
      "",
      "file contents\r\n--not-the-boundary",
      `--${BOUNDARY}--`,
      "",
    ].join(CRLF),
  ),
);

/** A masked client frame: FIN, TEXT, the payload masked with a fixed key. */
function wsFrame(text: string): string {
  const payload = Buffer.from(text);
  const key = Buffer.from([1, 2, 3, 4]);
  const masked = payload.map((b, i) => b ^ (key[i % 4] as number));
  return latin1(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), key, masked]));
}

/** A WebSocket frame of any kind: valid or not, masked or not, length in any encoding. */
const wsAnyFrame = fc
  .record({
    fin: fc.boolean(),
    rsv: fc.nat({ max: 7 }),
    opcode: fc.constantFrom(0, 1, 2, 8, 9, 10, 3, 11, 15),
    masked: fc.boolean(),
    payload: fc.uint8Array({ maxLength: 200 }),
    lengthForm: fc.constantFrom("short", "16", "64"),
  })
  .map(({ fin, rsv, opcode, masked, payload, lengthForm }) => {
    const n = payload.length;
    const first = Buffer.from([(fin ? 0x80 : 0) | (rsv << 4) | opcode]);
    const mask = masked ? 0x80 : 0;
    let length: Buffer;
    if (lengthForm === "short" && n < 126) length = Buffer.from([mask | n]);
    else if (lengthForm !== "64") length = Buffer.from([mask | 126, n >> 8, n & 0xff]);
    else
      length = Buffer.concat([
        Buffer.from([mask | 127, 0, 0, 0, 0, 0, 0]),
        Buffer.from([n >> 8, n & 0xff]),
      ]);
    const key = Buffer.from([9, 8, 7, 6]);
    const body = masked
      ? Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)))
      : Buffer.from(payload);
    return latin1(Buffer.concat([first, length, masked ? key : Buffer.alloc(0), body]));
  });

const valid: fc.Arbitrary<string> = fc.oneof(
  fc.constant(head("GET / HTTP/1.1", [])),
  fc.nat({ max: 99999 }).map((id) => head(`GET /items/${id}?q=1 HTTP/1.1`, [])),
  fc
    .uint8Array({ maxLength: 100 })
    .map((body) => head("POST /echo HTTP/1.1", [`Content-Length: ${body.length}`]) + latin1(body)),
  chunked.map((body) => head("POST /echo HTTP/1.1", ["Transfer-Encoding: chunked"]) + body),
  fc.constant(
    `${head("POST /form HTTP/1.1", [
      "Content-Type: application/x-www-form-urlencoded",
      "Content-Length: 17",
    ])}a=1&b=%C3%A9&a=2x`,
  ),
  fc.constant(
    head("POST /upload HTTP/1.1", [
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}`,
      `Content-Length: ${multipart.length}`,
    ]) + multipart,
  ),
  fc.constant(
    `${head("POST /upload HTTP/1.1", [
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}`,
      "Transfer-Encoding: chunked",
    ])}${multipart.length.toString(16)}${CRLF}${multipart}${CRLF}0${CRLF}${CRLF}`,
  ),
  fc
    .string({ maxLength: 20 })
    .map(
      (text) =>
        head("GET /ws HTTP/1.1", [
          "Upgrade: websocket",
          "Connection: Upgrade",
          "Sec-WebSocket-Version: 13",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Extensions: permessage-deflate",
        ]) + wsFrame(text),
    ),
  fc
    .array(wsAnyFrame, { minLength: 1, maxLength: 4 })
    .map(
      (frames) =>
        head("GET /ws HTTP/1.1", [
          "Upgrade: websocket",
          "Connection: Upgrade",
          "Sec-WebSocket-Version: 13",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ]) + frames.join(""),
    ),
);

// Two requests on one connection, the second possibly after a mutated first.
const pipelined = fc.tuple(valid, valid).map(([a, b]) => a + b);

// ---------------------------------------------------------------------------------------------
// Mutations

const TOKENS = [
  CRLF,
  "\n",
  "\r",
  "\0",
  " ",
  "\t",
  ":",
  ";",
  ",",
  "chunked",
  "Transfer-Encoding: chunked\r\n",
  "Transfer-Encoding: chunked, identity\r\n",
  "Content-Length: 5\r\n",
  "Content-Length: -1\r\n",
  "Content-Length: 99999999999999999999\r\n",
  "Expect: 100-continue\r\n",
  "Connection: close\r\n",
  "Connection: keep-alive, Upgrade\r\n",
  "Content-Encoding: gzip\r\n",
  "Content-Type: multipart/form-data; boundary=x\r\n",
  "Host: other\r\n",
  "\r\n\r\n",
  "0\r\n\r\n",
  "ffffffffffffffff\r\n",
  "1;\n",
  " HTTP/1.0",
  "%00",
  "%2e%2e/",
  "/../",
  "\xff\xfe",
  "é",
  "--",
  `--${BOUNDARY}\r\n`,
  `--${BOUNDARY}--`,
];

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; byte: number }
  | { kind: "insert"; at: number; bytes: string }
  | { kind: "token"; at: number; token: string }
  | { kind: "delete"; at: number; length: number }
  | { kind: "truncate"; at: number }
  | { kind: "dupLine"; line: number }
  | { kind: "swapLines"; line: number; other: number };

const at = fc.nat({ max: 100_000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at, byte: fc.nat({ max: 255 }) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }).map(latin1),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("token" as const),
      at,
      token: fc.constantFrom(...TOKENS),
    }),
  },
  fc.record({ kind: fc.constant("delete" as const), at, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at }),
  fc.record({ kind: fc.constant("dupLine" as const), line: fc.nat({ max: 20 }) }),
  fc.record({
    kind: fc.constant("swapLines" as const),
    line: fc.nat({ max: 20 }),
    other: fc.nat({ max: 20 }),
  }),
);

/** The head's lines (without their CRLF) and what follows the head. */
function lines(bytes: Buffer): { lines: Buffer[]; rest: Buffer } | null {
  const end = bytes.indexOf(`${CRLF}${CRLF}`);
  if (end === -1) return null;
  const parts: Buffer[] = [];
  let start = 0;
  while (start <= end) {
    const next = bytes.indexOf(CRLF, start);
    parts.push(bytes.subarray(start, next));
    start = next + 2;
  }
  return { lines: parts, rest: bytes.subarray(end + 4) };
}

function joinLines(parsed: { lines: Buffer[]; rest: Buffer }): Buffer {
  return Buffer.concat([
    ...parsed.lines.flatMap((line) => [line, Buffer.from(CRLF)]),
    Buffer.from(CRLF),
    parsed.rest,
  ]);
}

function mutate(bytes: Buffer, m: Mutation): Buffer {
  const pos = (n: number, extra = 0): number => n % (bytes.length + extra);
  switch (m.kind) {
    case "flip": {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      const i = pos(m.at);
      out[i] = (out[i] as number) ^ (1 << m.bit);
      return out;
    }
    case "set": {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      out[pos(m.at)] = m.byte;
      return out;
    }
    case "insert":
    case "token": {
      const i = pos(m.at, 1);
      const insert = Buffer.from(m.kind === "insert" ? m.bytes : m.token, "latin1");
      return Buffer.concat([bytes.subarray(0, i), insert, bytes.subarray(i)]);
    }
    case "delete": {
      const i = pos(m.at, 1);
      return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + m.length)]);
    }
    case "truncate":
      return bytes.subarray(0, pos(m.at, 1));
    case "dupLine":
    case "swapLines": {
      const parsed = lines(bytes);
      // The request line stays first: only header lines are duplicated or swapped.
      if (parsed === null || parsed.lines.length < 2) return bytes;
      const count = parsed.lines.length - 1;
      const i = 1 + (m.line % count);
      const copy = parsed.lines.slice();
      if (m.kind === "dupLine") copy.splice(i, 0, copy[i] as Buffer);
      else {
        const j = 1 + (m.other % count);
        [copy[i], copy[j]] = [copy[j] as Buffer, copy[i] as Buffer];
      }
      return joinLines({ lines: copy, rest: parsed.rest });
    }
  }
}

/** A mutated request and how it is written: in one piece or cut into a few writes. */
interface Case {
  base: string;
  mutations: Mutation[];
  cuts: number[];
}

const fuzzCase: fc.Arbitrary<Case> = fc.record({
  base: fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: pipelined }),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  cuts: fc.array(fc.nat({ max: 2000 }), { maxLength: 3 }),
});

function bytesOf(c: Case): Buffer {
  return c.mutations.reduce(mutate, Buffer.from(c.base, "latin1"));
}

// ---------------------------------------------------------------------------------------------
// Sending

/** What one connection received, and whether it ended in time. */
interface Outcome {
  received: Buffer;
  ended: boolean;
  status: number | null;
}

/**
 * Writes `bytes` (cut at `cuts`), half-closes, and waits for the server to close, up to
 * CLOSE_WITHIN_MS. A server may answer and keep a keep-alive connection open until the client
 * goes: after our FIN it must close.
 */
function send(bytes: Buffer, cuts: number[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port(), "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    // A reset is one way to refuse a request.
    socket.on("error", () => {});
    const timer = setTimeout(() => finish(false), CLOSE_WITHIN_MS);
    const finish = (ended: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(received.toString("latin1", 0, 16));
      resolve({ received, ended, status: m === null ? null : Number(m[1]) });
    };
    socket.on("close", () => finish(true));
    socket.on("connect", () => {
      sentFrom.set(socket.localPort ?? 0, bytes.toString("latin1"));
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      let start = 0;
      for (const point of [...points, bytes.length]) {
        socket.write(bytes.subarray(start, point));
        start = point;
      }
      socket.end();
    });
  });
}

/** Every status line in what a connection received (pipelined answers included). */
function statuses(received: Buffer): number[] {
  return [...received.toString("latin1").matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) =>
    Number(m[1]),
  );
}

// ---------------------------------------------------------------------------------------------
// The run

// The three steps run in this order (the run, then the checks of what it left, then shutdown),
// also under `--sequence.shuffle`.
describe("fuzzing the HTTP/1.1 server with mutated requests", { shuffle: false }, () => {
  const seen = new Map<number | null, number>();
  let sent = 0;

  it(
    `${REQUESTS} mutated requests: each connection ends in time, no 500, nothing escapes`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fuzzCase, { minLength: BATCH, maxLength: BATCH }),
          async (batch) => {
            const before = { escaped: escaped.length, logged: logged.length };
            const outcomes = await Promise.all(batch.map((c) => send(bytesOf(c), c.cuts)));
            sent += batch.length;
            for (const [i, outcome] of outcomes.entries()) {
              seen.set(outcome.status, (seen.get(outcome.status) ?? 0) + 1);
              const request = JSON.stringify(bytesOf(batch[i] as Case).toString("latin1"));
              expect(outcome.ended, `connection still open after ${request}`).toBe(true);
              expect(statuses(outcome.received), `answer to ${request}`).not.toContain(500);
            }
            expect(logged.slice(before.logged)).toEqual([]);
            expect(escaped.slice(before.escaped)).toEqual([]);
          },
        ),
        {
          numRuns: Math.max(1, Math.ceil(REQUESTS / BATCH)),
          seed: SEED,
        },
      );
      // Not a check, a record: how the server answered (null: closed without a status line).
      console.log(
        `fuzz: seed ${SEED}, ${sent} connections; statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}`,
      );
    },
    RUN_TIMEOUT_MS,
  );

  it("the server still answers valid requests on every route afterwards", async () => {
    expect((await httpSend(port(), "/")).body).toBe("home");
    expect(JSON.parse((await httpSend(port(), "/items/42")).body)).toEqual({ id: "42" });
    const echoed = await httpSend(port(), "/echo", { method: "POST", body: "ping" });
    expect(echoed.body).toBe("ping");
    await using session = new ClientSession();
    const form = new FormData();
    form.addField("field", "v");
    form.addField("file", Buffer.from("abc"), { filename: "f.bin" });
    const uploaded = await session.post(`http://127.0.0.1:${port()}/upload`, { data: form });
    expect(await uploaded.json()).toEqual([
      ["field", 1],
      ["file", 3],
    ]);
    const ws = await session.wsConnect(`ws://127.0.0.1:${port()}/ws`);
    await ws.sendStr("still here");
    expect(await ws.receiveStr(5000)).toBe("still here");
    await ws.close();
    expect(escaped).toEqual([]);
    expect(logged).toEqual([]);
  });

  it("every handler has ended and no request is left in flight: shutdown is immediate", async () => {
    await vi.waitFor(() => expect([...running.values()]).toEqual([]), { timeout: 5000 });
    await vi.waitFor(() => expect(runner.server.inFlight).toBe(0), { timeout: 5000 });
    const t0 = performance.now();
    await runner.cleanup();
    // Well under shutdownTimeout (10 s): nothing was waited for.
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
