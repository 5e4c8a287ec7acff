// Regression tests: a handler that fails after `prepare()` used to lose everything it had
// written (the client saw an empty reply) and the server logged a second, spurious
// ERR_HTTP_HEADERS_SENT while trying to send a 500 on a response whose head was out. Now, as
// in aiohttp, what was written reaches the client, the connection is closed so the body is
// visibly truncated, and the error is logged once.
import { gunzipSync, constants as zc } from "node:zlib";
import { describe, expect, it, type Mock, vi } from "vitest";
import { WSMsgType, web } from "../../src/index.js";
import {
  appWith,
  dechunk,
  rawExchange,
  splitHead,
  useRunners,
  useTestClients,
} from "../helpers.js";
import { curl, onlyTransfer } from "../interop/helpers.js";
import { hasPeer } from "../peers.js";

const peersMissing = !hasPeer("curl");

const serve = useTestClients();
const start = useRunners();

/** A keep-alive GET: the server, not the request, has to be what closes the connection. */
const KEEP_ALIVE_GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/** The header value named `name` (case-insensitive) among raw header lines. */
function header(lines: readonly string[], name: string): string | undefined {
  const prefix = `${name.toLowerCase()}:`;
  return lines
    .find((l) => l.toLowerCase().startsWith(prefix))
    ?.slice(prefix.length)
    .trim();
}

/** A handler that prepares, writes `chunks`, then throws. */
function failingStream(
  chunks: readonly string[],
  setUp: (resp: web.StreamResponse) => void = () => {},
): web.Handler {
  return async (request) => {
    const resp = new web.StreamResponse();
    setUp(resp);
    await resp.prepare(request);
    for (const chunk of chunks) await resp.write(chunk);
    throw new Error("failed mid-stream");
  };
}

/** Serves `handler` with a logger whose `error` is a spy; returns the port and the spy. */
async function serveCounting(handler: web.Handler): Promise<{ port: number; error: Mock }> {
  const error = vi.fn();
  const client = await serve(appWith(handler, { logger: { error, warn() {} } }));
  return { port: client.server.port, error };
}

describe("a handler that throws after prepare()", () => {
  it("after write()s: the written chunks reach the client, with no last chunk, and the connection closes", async () => {
    const { port, error } = await serveCounting(failingStream(["abc", "defg"]));
    const reply = await rawExchange(port, KEEP_ALIVE_GET, { requireClose: true });
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(header(reply.headerLines, "Transfer-Encoding")).toBe("chunked");
    // Whole chunks of what was written, and no 0-length chunk, so the client knows the body
    // is incomplete.
    expect(dechunk(reply.rest)).toEqual({ data: Buffer.from("abcdefg"), complete: false });
    expect(error).toHaveBeenCalledTimes(1);
    const [message, logged] = error.mock.calls[0] as [string, Error];
    expect(message).toContain("GET /");
    expect(logged.message).toBe("failed mid-stream");
  });

  it("with no write: the head reaches the client, then the connection closes", async () => {
    const { port, error } = await serveCounting(
      failingStream([], (resp) => resp.headers.set("X-Prepared", "yes")),
    );
    const reply = await rawExchange(port, KEEP_ALIVE_GET, { requireClose: true });
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(header(reply.headerLines, "X-Prepared")).toBe("yes");
    expect(reply.raw).toContain("\r\n\r\n");
    expect(reply.rest).toBe("");
    expect(error).toHaveBeenCalledTimes(1);
  });

  it("with Content-Length: the bytes written arrive, short of the length, and the connection closes", async () => {
    const { port, error } = await serveCounting(
      failingStream(["abc"], (resp) => {
        resp.contentLength = 10;
      }),
    );
    const reply = await rawExchange(port, KEEP_ALIVE_GET, { requireClose: true });
    expect(header(reply.headerLines, "Content-Length")).toBe("10");
    expect(reply.rest).toBe("abc");
    expect(error).toHaveBeenCalledTimes(1);
  });

  it("with compression: what the encoder held is flushed before the connection closes", async () => {
    const text = "compressible line\n".repeat(200);
    const { port, error } = await serveCounting(
      failingStream([text], (resp) => resp.enableCompression("gzip")),
    );
    const reply = await rawExchange(
      port,
      "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
      {
        requireClose: true,
      },
    );
    expect(header(reply.headerLines, "Content-Encoding")).toBe("gzip");
    const body = dechunk(reply.rest);
    expect(body.complete).toBe(false);
    // The gzip stream is cut too: decode what arrived without asking for its end.
    const decoded = gunzipSync(body.data, { finishFlush: zc.Z_SYNC_FLUSH }).toString();
    expect(decoded).toBe(text);
    expect(error).toHaveBeenCalledTimes(1);
  });

  it("the access log line has the prepared response's status and the bytes written", async () => {
    const lines: string[] = [];
    const app = appWith(failingStream(["abc", "defg"]), { logger: { error() {} } });
    const { port } = await start(app, {
      accessLog: { info: (line) => lines.push(line) },
      accessLogFormat: '"%r" %s %b',
    });
    await rawExchange(port, KEEP_ALIVE_GET, { requireClose: true });
    await vi.waitFor(() => expect(lines).toEqual(['"GET / HTTP/1.1" 200 7']));
  });

  it("the server keeps serving other connections", async () => {
    const { port } = await serveCounting(async (request) => {
      if (request.path === "/ok") return new web.Response({ text: "fine" });
      return failingStream(["x"])(request);
    });
    await rawExchange(port, KEEP_ALIVE_GET, { requireClose: true });
    const reply = await rawExchange(
      port,
      "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    expect(splitHead(reply.raw).rest).toBe("fine");
  });

  it("a WebSocket handler's error closes the WebSocket with 1011, logged once", async () => {
    const error = vi.fn();
    const client = await serve(
      appWith(
        async (request) => {
          const ws = new web.WebSocketResponse();
          await ws.prepare(request);
          await ws.sendStr("hello");
          throw new Error("failed mid-session");
        },
        { logger: { error, warn() {} } },
      ),
    );
    const ws = await client.wsConnect("/");
    expect(await ws.receiveStr()).toBe("hello");
    const msg = await ws.receive();
    expect(msg.type).toBe(WSMsgType.CLOSE);
    expect(ws.closeCode).toBe(1011);
    expect(error).toHaveBeenCalledTimes(1);
  });
});

describe.skipIf(peersMissing)("curl and a handler that throws after prepare()", () => {
  it("curl gets the head and the bytes written, then reports a transfer cut short", async () => {
    const { port } = await serveCounting(failingStream(["abc", "defg"]));
    const run = await curl({ url: `http://127.0.0.1:${port}/` });
    const t = onlyTransfer(run);
    expect(t.status).toBe(200);
    expect(t.text).toBe("abcdefg");
    // 18: CURLE_PARTIAL_FILE, "transfer closed with outstanding read data remaining".
    expect(run.code).toBe(18);
    expect(run.stderr).toMatch(/outstanding read data/);
  });

  it("with Content-Length curl gets the bytes written and reports them short of it", async () => {
    const { port } = await serveCounting(
      failingStream(["abc"], (resp) => {
        resp.contentLength = 10;
      }),
    );
    const run = await curl({ url: `http://127.0.0.1:${port}/` });
    const t = onlyTransfer(run);
    expect(t.status).toBe(200);
    expect(t.text).toBe("abc");
    expect(run.code).toBe(18);
    expect(run.stderr).toMatch(/7 bytes remaining/);
  });
});
