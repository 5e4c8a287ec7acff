// WebSockets between aiohttp-ts and real Python peers (ws_python_peer.py, Debian's python3-aiohttp
// and python3-websockets): each library as a client of our server, and as a server for our
// ClientSession.wsConnect. Both ends must agree on messages, extensions, subprotocols and every
// close code.

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ClientSession,
  CookieJar,
  WebSocketError,
  type WSMessage,
  WSMsgType,
  WSServerHandshakeError,
  web,
} from "../../src/index.js";
import { useAppForAll } from "../helpers.js";
import { hasPeer, PYTHON } from "../peers.js";
import { Reports, run } from "./helpers.js";

const peersMissing = !hasPeer("python3-aiohttp", "python3-websockets");

const PEER = fileURLToPath(new URL("./ws_python_peer.py", import.meta.url));
const PYTHON_HINT = "sudo apt-get install -y python3-aiohttp python3-websockets";
const START_TIMEOUT_MS = 10_000;
/** How long a test waits for what the other side saw; loopback answers in milliseconds. */
const EVENT_TIMEOUT_MS = 3_000;

/** A text that permessage-deflate shrinks a lot. */
const COMPRESSIBLE = "aiohttp-ts and Python agree on permessage-deflate. ".repeat(100);
/** Every byte value, four times. */
const ALL_BYTES = Buffer.from(Array.from({ length: 1024 }, (_, i) => i & 0xff));

let idCounter = 0;
/** A fresh connection id; the peers report what they saw under it. */
function nextId(): string {
  idCounter += 1;
  return `c${idCounter}`;
}

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

// ---- Python clients ----------------------------------------------------------------------

/** One step of a Python client run (see ws_python_peer.py). */
type Step =
  | { op: "send_text"; data: string }
  | { op: "send_bytes"; b64: string }
  | { op: "send_json"; data: unknown }
  | { op: "send_random"; size: number }
  | { op: "recv"; timeout?: number }
  | { op: "ping"; data?: string }
  | { op: "close"; code?: number; reason?: string }
  | { op: "sleep"; s: number };

/** A payload as the Python client reported it: small ones whole, all by size and hash. */
interface PyData {
  length: number;
  sha256: string;
  text?: string;
  b64?: string;
}

/** What `recv` got from the `websockets` client. */
interface WebsocketsReceived extends Partial<PyData> {
  type: "text" | "bytes" | "closed";
  exception?: string;
  code?: number | null;
  reason?: string | null;
}

interface WebsocketsRun {
  results: Array<(WebsocketsReceived & { pong?: boolean }) | null>;
  subprotocol: string | null;
  extensions: string[];
  responseHeaders: Record<string, string>;
  closeCode: number | null;
  closeReason: string | null;
  /** Every frame received, before reassembly. */
  frames: Array<{ opcode: string; fin: boolean; length: number }>;
}

/** What `recv` got from aiohttp's client (`type` is a WSMsgType name). */
interface AiohttpReceived extends Partial<PyData> {
  type: string;
  closed: boolean;
  code?: number;
  reason?: string;
  error?: string;
  closedByThisCall?: boolean;
}

interface AiohttpRun {
  results: Array<AiohttpReceived | null>;
  protocol: string | null;
  compress: number;
  closeCode: number | null;
  pings: number;
  exception: string | null;
}

interface ClientSpec {
  url: string;
  connect?: Record<string, unknown>;
  steps: Step[];
}

async function pythonClient(library: "websockets" | "aiohttp", spec: ClientSpec): Promise<unknown> {
  const done = await run(PYTHON, [PEER, `${library}-client`], {
    input: JSON.stringify(spec),
    timeout: 10_000,
    installHint: PYTHON_HINT,
  });
  if (done.code !== 0) {
    throw new Error(
      `ws_python_peer.py ${library}-client exited with ${done.code}:\n${done.stderr}`,
    );
  }
  return JSON.parse(done.stdout);
}

function websocketsClient(spec: ClientSpec): Promise<WebsocketsRun> {
  return pythonClient("websockets", spec) as Promise<WebsocketsRun>;
}

function aiohttpClient(spec: ClientSpec): Promise<AiohttpRun> {
  return pythonClient("aiohttp", spec) as Promise<AiohttpRun>;
}

// ---- our server, and what its handlers saw -------------------------------------------------

/** What one WebSocket handler of our server saw, recorded when its connection ended. */
interface Sighting {
  protocol: string | null;
  compress: boolean;
  received: Array<{ type: string; length: number; sha256: string }>;
  closeMessage: { code: number; reason: string } | null;
  closeCode: number | null;
  /** `close()`'s answer, for the handlers that close first. */
  closedByUs: boolean | null;
}

/** Echoes text and binary messages until the peer closes, noting what arrived. */
async function echoUntilClosed(ws: web.WebSocketResponse, sighting: Sighting): Promise<void> {
  for (;;) {
    const msg: WSMessage = await ws.receive();
    if (msg.type === WSMsgType.TEXT) {
      sighting.received.push({ type: "text", length: msg.data.length, sha256: sha256(msg.data) });
      await ws.sendStr(msg.data);
    } else if (msg.type === WSMsgType.BINARY) {
      sighting.received.push({ type: "bytes", length: msg.data.length, sha256: sha256(msg.data) });
      await ws.sendBytes(msg.data);
    } else if (msg.type === WSMsgType.CLOSE) {
      sighting.closeMessage = { code: msg.data, reason: msg.extra };
    } else {
      // CLOSED, CLOSING or ERROR: the connection is over.
      return;
    }
  }
}

/**
 * The application the Python clients call. Every route upgrades (subprotocol "chat" on
 * offer), does its part, echoes until the client closes, and records what it saw under `?id=`.
 */
function makeServerApp(sightings: Reports<Sighting>): web.Application {
  const app = new web.Application();
  const route = (
    path: string,
    act: (ws: web.WebSocketResponse, request: web.Request, sighting: Sighting) => Promise<void>,
  ): void => {
    app.router.addGet(path, async (request) => {
      const ws = new web.WebSocketResponse({ protocols: ["chat"] });
      await ws.prepare(request);
      const sighting: Sighting = {
        protocol: ws.protocol,
        compress: ws.compress,
        received: [],
        closeMessage: null,
        closeCode: null,
        closedByUs: null,
      };
      try {
        await act(ws, request, sighting);
        if (!ws.closed) await echoUntilClosed(ws, sighting);
      } finally {
        sighting.closeCode = ws.closeCode;
        sightings.file(request.query.get("id") ?? "", sighting);
      }
      return ws;
    });
  };

  route("/echo", async () => {});
  route("/json", async (ws) => {
    const value = await ws.receiveJson<{ numbers: number[] }>();
    await ws.sendJson({ received: value, sum: value.numbers.reduce((a, b) => a + b, 0) });
  });
  route("/close", async (ws, request, sighting) => {
    sighting.closedByUs = await ws.close({
      code: Number(request.query.get("code")),
      message: request.query.get("reason") ?? "",
    });
  });
  route("/fragmented", async (ws) => {
    await ws.sendFrame("frag", WSMsgType.TEXT, { fin: false });
    await ws.sendFrame("ment", WSMsgType.CONTINUATION, { fin: false });
    await ws.sendFrame("ed", WSMsgType.CONTINUATION, { fin: true });
  });
  route("/idle", async (ws, request) => {
    await sleep(Number(request.query.get("ms")));
    await ws.sendStr("still open");
  });
  return app;
}

// ---- Python servers ----------------------------------------------------------------------

/** What a Python server reports when one of its WebSockets ends (see ws_python_peer.py). */
interface PyServerEvent {
  id: string | null;
  path: string;
  // websockets
  subprotocol?: string | null;
  extensions?: string[];
  closeReason?: string;
  pong?: boolean;
  // aiohttp
  protocol?: string | null;
  compress?: number;
  cookies?: Record<string, string>;
  closeMessage?: { code: number; reason: string };
  pings?: number;
  exception?: string | null;
  others?: string[];
  // both
  closeCode: number | null;
}

/** A Python WebSocket server running in a child process for the whole describe block. */
class PythonServer {
  readonly #events = new Reports<PyServerEvent>(
    (id) => `connection ${id} by ${this.name}\n--- stderr ---\n${this.#stderr}`,
  );
  #stderr = "";
  #port = 0;

  private constructor(
    readonly kind: "websockets" | "aiohttp",
    readonly child: ChildProcess,
  ) {}

  static async start(kind: "websockets" | "aiohttp"): Promise<PythonServer> {
    const child = spawn(PYTHON, [PEER, `${kind}-server`], { stdio: ["ignore", "pipe", "pipe"] });
    const server = new PythonServer(kind, child);
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      server.#stderr += d;
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string, cause?: unknown): void => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(new Error(`${server.name}: ${why}\n--- stderr ---\n${server.#stderr}`, { cause }));
      };
      const timer = setTimeout(() => fail("no READY line in time"), START_TIMEOUT_MS);
      child.once("error", (err) => fail(`cannot start ${PYTHON}`, err));
      child.once("exit", (code) => fail(`exited with ${code} before READY`));
      let buffered = "";
      child.stdout?.setEncoding("utf8").on("data", (d: string) => {
        buffered += d;
        let nl = buffered.indexOf("\n");
        while (nl !== -1) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf("\n");
          if (line.startsWith("READY ")) {
            server.#port = Number(line.slice(6));
            clearTimeout(timer);
            child.removeAllListeners("exit");
            resolve();
          } else if (line.startsWith("EVENT ")) {
            server.#onEvent(JSON.parse(line.slice(6)) as PyServerEvent);
          }
        }
      });
    });
    return server;
  }

  get name(): string {
    return `ws_python_peer.py ${this.kind}-server`;
  }

  get port(): number {
    return this.#port;
  }

  /** A ws:// URL on this server, tagged with `id` when given. */
  url(path: string, id?: string): string {
    const url = new URL(path, `ws://127.0.0.1:${this.#port}`);
    if (id !== undefined) url.searchParams.set("id", id);
    return url.href;
  }

  #onEvent(event: PyServerEvent): void {
    if (event.id !== null) this.#events.file(event.id, event);
  }

  /** What the server saw on connection `id`, once that connection has ended. */
  event(id: string): Promise<PyServerEvent> {
    return this.#events.take(id, EVENT_TIMEOUT_MS);
  }

  /** The server's stderr so far: empty unless a handler raised. */
  stderr(): string {
    return this.#stderr;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/**
 * Runs our WebSocket app (`makeServerApp`) for the tests of the calling `describe`; `url`
 * builds a URL with the given scheme, tagged with the connection's id.
 */
function useOurServer(scheme: "ws" | "http"): {
  sightings: Reports<Sighting>;
  url(path: string, id: string): string;
} {
  const sightings = new Reports<Sighting>();
  const port = useAppForAll(() => makeServerApp(sightings));
  return {
    sightings,
    url: (path, id) =>
      `${scheme}://127.0.0.1:${port()}${path}${path.includes("?") ? "&" : "?"}id=${id}`,
  };
}

// ---- the tests ---------------------------------------------------------------------------

describe.skipIf(peersMissing)("WebSockets between aiohttp-ts and Python", () => {
  describe("Python's websockets client calls our WebSocketResponse", () => {
    const { sightings, url } = useOurServer("ws");

    test("a text message comes back as the same text", async () => {
      const text = "hello zoë ✓ 👋";
      const r = await websocketsClient({
        url: url("/echo", nextId()),
        steps: [{ op: "send_text", data: text }, { op: "recv" }],
      });
      expect(r.results[1]).toMatchObject({ type: "text", text });
    });

    test("a binary message comes back byte for byte", async () => {
      const r = await websocketsClient({
        url: url("/echo", nextId()),
        steps: [{ op: "send_bytes", b64: ALL_BYTES.toString("base64") }, { op: "recv" }],
      });
      expect(r.results[1]).toMatchObject({ type: "bytes", b64: ALL_BYTES.toString("base64") });
    });

    test("JSON sent as text is parsed by receiveJson and answered by sendJson", async () => {
      const r = await websocketsClient({
        url: url("/json", nextId()),
        steps: [{ op: "send_json", data: { numbers: [1, 2, 3.5], name: "zoë" } }, { op: "recv" }],
      });
      const reply = r.results[1];
      expect(reply?.type).toBe("text");
      expect(JSON.parse(reply?.text ?? "")).toEqual({
        received: { numbers: [1, 2, 3.5], name: "zoë" },
        sum: 6.5,
      });
    });

    test("a 1 MiB binary message crosses intact both ways", async () => {
      const id = nextId();
      const size = 1024 * 1024;
      const r = await websocketsClient({
        url: url("/echo", id),
        connect: { max_size: 4 * size },
        steps: [{ op: "send_random", size }, { op: "recv" }],
      });
      const sent = r.results[0];
      expect(r.results[1]).toMatchObject({ type: "bytes", length: size, sha256: sent?.sha256 });
      const seen = await sightings.take(id, EVENT_TIMEOUT_MS);
      expect(seen.received).toEqual([{ type: "bytes", length: size, sha256: sent?.sha256 }]);
    });

    test("permessage-deflate offered by websockets is agreed on both sides", async () => {
      const id = nextId();
      const r = await websocketsClient({
        url: url("/echo", id),
        steps: [{ op: "send_text", data: COMPRESSIBLE }, { op: "recv" }],
      });
      expect(r.extensions).toEqual(["permessage-deflate"]);
      expect(r.responseHeaders["sec-websocket-extensions"]).toMatch(/^permessage-deflate/);
      expect(r.results[1]).toMatchObject({ type: "text", sha256: sha256(COMPRESSIBLE) });
      expect((await sightings.take(id, EVENT_TIMEOUT_MS)).compress).toBe(true);
    });

    test("a client that offers no compression gets none", async () => {
      const id = nextId();
      const r = await websocketsClient({
        url: url("/echo", id),
        connect: { compression: null },
        steps: [{ op: "send_text", data: COMPRESSIBLE }, { op: "recv" }],
      });
      expect(r.extensions).toEqual([]);
      expect(r.responseHeaders["sec-websocket-extensions"]).toBeUndefined();
      expect(r.results[1]).toMatchObject({ type: "text", sha256: sha256(COMPRESSIBLE) });
      expect((await sightings.take(id, EVENT_TIMEOUT_MS)).compress).toBe(false);
    });

    test("the subprotocol the server speaks is agreed from the client's offer", async () => {
      const id = nextId();
      const r = await websocketsClient({
        url: url("/echo", id),
        connect: { subprotocols: ["v2.chat", "chat"] },
        steps: [],
      });
      expect(r.subprotocol).toBe("chat");
      expect(r.responseHeaders["sec-websocket-protocol"]).toBe("chat");
      expect((await sightings.take(id, EVENT_TIMEOUT_MS)).protocol).toBe("chat");
    });

    test("close 4000 with a reason from websockets reaches the handler as CLOSE", async () => {
      const id = nextId();
      const r = await websocketsClient({
        url: url("/echo", id),
        steps: [{ op: "close", code: 4000, reason: "bye from websockets" }],
      });
      // Our side answers with the client's own code and reason.
      expect(r.closeCode).toBe(4000);
      expect(r.closeReason).toBe("bye from websockets");
      const seen = await sightings.take(id, EVENT_TIMEOUT_MS);
      expect(seen.closeMessage).toEqual({ code: 4000, reason: "bye from websockets" });
      expect(seen.closeCode).toBe(4000);
    });

    test("close 4001 from the handler reaches websockets with its code and reason", async () => {
      const id = nextId();
      const r = await websocketsClient({
        url: url("/close?code=4001&reason=server+says+bye", id),
        steps: [{ op: "recv" }],
      });
      expect(r.results[0]).toEqual({
        type: "closed",
        exception: "ConnectionClosedError",
        code: 4001,
        reason: "server says bye",
      });
      expect(r.closeCode).toBe(4001);
      const seen = await sightings.take(id, EVENT_TIMEOUT_MS);
      expect(seen.closedByUs).toBe(true);
      expect(seen.closeCode).toBe(4001);
    });

    test("a ping from websockets is answered with a pong", async () => {
      const r = await websocketsClient({
        url: url("/echo", nextId()),
        steps: [{ op: "ping", data: "are you there?" }],
      });
      expect(r.results[0]).toMatchObject({ pong: true });
    });

    test("a message sent in three frames by sendFrame arrives whole", async () => {
      const r = await websocketsClient({
        url: url("/fragmented", nextId()),
        steps: [{ op: "recv" }],
      });
      expect(r.results[0]).toMatchObject({ type: "text", text: "fragmented" });
      const dataFrames = r.frames
        .filter((f) => f.opcode === "TEXT" || f.opcode === "CONT")
        .map(({ opcode, fin }) => ({ opcode, fin }));
      expect(dataFrames).toEqual([
        { opcode: "TEXT", fin: false },
        { opcode: "CONT", fin: false },
        { opcode: "CONT", fin: true },
      ]);
    });
  });

  describe("Python's aiohttp client calls our WebSocketResponse", () => {
    const { sightings, url } = useOurServer("http");

    test("a text message comes back as the same text", async () => {
      const text = "hello zoë ✓ 👋";
      const r = await aiohttpClient({
        url: url("/echo", nextId()),
        steps: [{ op: "send_text", data: text }, { op: "recv" }],
      });
      expect(r.results[1]).toMatchObject({ type: "TEXT", text });
    });

    test("a binary message comes back byte for byte", async () => {
      const r = await aiohttpClient({
        url: url("/echo", nextId()),
        steps: [{ op: "send_bytes", b64: ALL_BYTES.toString("base64") }, { op: "recv" }],
      });
      expect(r.results[1]).toMatchObject({ type: "BINARY", b64: ALL_BYTES.toString("base64") });
    });

    test("send_json is parsed by receiveJson and answered by sendJson", async () => {
      const r = await aiohttpClient({
        url: url("/json", nextId()),
        steps: [{ op: "send_json", data: { numbers: [10, 20], name: "zoë" } }, { op: "recv" }],
      });
      expect(JSON.parse(r.results[1]?.text ?? "")).toEqual({
        received: { numbers: [10, 20], name: "zoë" },
        sum: 30,
      });
    });

    test("close 4000 with a reason from aiohttp reaches the handler as CLOSE", async () => {
      const id = nextId();
      const r = await aiohttpClient({
        url: url("/echo", id),
        steps: [{ op: "close", code: 4000, reason: "bye from aiohttp" }],
      });
      expect(r.results[0]).toEqual({ closedByThisCall: true });
      expect(r.closeCode).toBe(4000);
      const seen = await sightings.take(id, EVENT_TIMEOUT_MS);
      expect(seen.closeMessage).toEqual({ code: 4000, reason: "bye from aiohttp" });
      expect(seen.closeCode).toBe(4000);
    });

    test("close 4001 from the handler reaches aiohttp as a CLOSE message", async () => {
      const id = nextId();
      const r = await aiohttpClient({
        url: url("/close?code=4001&reason=server+says+bye", id),
        steps: [{ op: "recv" }],
      });
      expect(r.results[0]).toMatchObject({ type: "CLOSE", code: 4001, reason: "server says bye" });
      expect(r.closeCode).toBe(4001);
      const seen = await sightings.take(id, EVENT_TIMEOUT_MS);
      expect(seen.closedByUs).toBe(true);
      // aiohttp answers a close frame with 1000 rather than echoing the code; ours is the
      // code of that answer, as aiohttp's own WebSocketResponse would report.
      expect(seen.closeCode).toBe(1000);
    });

    test("aiohttp's heartbeat pings are answered, so an idle connection stays open", async () => {
      const id = nextId();
      // aiohttp wants each pong within heartbeat / 2: with 0.2 s, that left 100 ms for two
      // processes on a busy machine to each get a turn. The client only reads pongs inside
      // receive(), so the silence is ours to time: 1.4 s, room for two pings at 0.5 s.
      const r = await aiohttpClient({
        url: url("/idle?ms=1400", id),
        connect: { heartbeat: 0.5 },
        steps: [{ op: "recv", timeout: 5 }],
      });
      expect(r.results[0]).toMatchObject({ type: "TEXT", text: "still open", closed: false });
      expect(r.pings).toBeGreaterThanOrEqual(2);
      expect(r.exception).toBeNull();
      expect((await sightings.take(id, EVENT_TIMEOUT_MS)).closeMessage).toEqual({
        code: 1000,
        reason: "",
      });
    });

    test("compress=15 negotiates permessage-deflate on both sides", async () => {
      const id = nextId();
      const r = await aiohttpClient({
        url: url("/echo", id),
        connect: { compress: 15 },
        steps: [{ op: "send_text", data: COMPRESSIBLE }, { op: "recv" }],
      });
      expect(r.compress).toBe(15);
      expect(r.results[1]).toMatchObject({ type: "TEXT", sha256: sha256(COMPRESSIBLE) });
      expect((await sightings.take(id, EVENT_TIMEOUT_MS)).compress).toBe(true);
    });

    test("the protocol aiohttp offers is agreed", async () => {
      const id = nextId();
      const r = await aiohttpClient({
        url: url("/echo", id),
        connect: { protocols: ["v2.chat", "chat"] },
        steps: [],
      });
      expect(r.protocol).toBe("chat");
      expect((await sightings.take(id, EVENT_TIMEOUT_MS)).protocol).toBe("chat");
    });
  });

  describe("our wsConnect calls a Python websockets server", () => {
    let py: PythonServer;
    const sessions: ClientSession[] = [];
    const session = (): ClientSession => {
      const s = new ClientSession();
      sessions.push(s);
      return s;
    };

    beforeAll(async () => {
      py = await PythonServer.start("websockets");
    }, START_TIMEOUT_MS + 5_000);

    afterAll(async () => {
      await Promise.all(sessions.map((s) => s.close()));
      py?.stop();
    });

    test("a text message comes back as the same text", async () => {
      const ws = await session().wsConnect(py.url("/echo", nextId()));
      await ws.sendStr("hello zoë ✓ 👋");
      expect(await ws.receiveStr(EVENT_TIMEOUT_MS)).toBe("hello zoë ✓ 👋");
      await ws.close();
    });

    test("a binary message comes back byte for byte", async () => {
      const ws = await session().wsConnect(py.url("/echo", nextId()));
      await ws.sendBytes(ALL_BYTES);
      expect(await ws.receiveBytes(EVENT_TIMEOUT_MS)).toEqual(ALL_BYTES);
      await ws.close();
    });

    test("sendJson and receiveJson round-trip a value", async () => {
      const ws = await session().wsConnect(py.url("/echo", nextId()));
      const value = { numbers: [1, 2, 3.5], nested: { ok: true, none: null }, name: "zoë" };
      await ws.sendJson(value);
      expect(await ws.receiveJson({ timeout: EVENT_TIMEOUT_MS })).toEqual(value);
      await ws.close();
    });

    test("the server picks the offered protocol it speaks", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/echo", id), { protocols: ["v2.chat", "chat"] });
      expect(ws.protocol).toBe("chat");
      expect(ws.headers.get("Sec-WebSocket-Protocol")).toBe("chat");
      await ws.close();
      expect((await py.event(id)).subprotocol).toBe("chat");
    });

    test("compress: true negotiates permessage-deflate with websockets", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/echo", id), { compress: true });
      expect(ws.compress).toBe(true);
      await ws.sendStr(COMPRESSIBLE);
      expect(await ws.receiveStr(EVENT_TIMEOUT_MS)).toBe(COMPRESSIBLE);
      await ws.close();
      expect((await py.event(id)).extensions).toEqual(["permessage-deflate"]);
    });

    test("without compress: true no compression is offered", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/echo", id));
      expect(ws.compress).toBe(false);
      await ws.close();
      expect((await py.event(id)).extensions).toEqual([]);
    });

    test("close 4000 with a reason reaches websockets", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/echo", id));
      expect(await ws.close({ code: 4000, message: "bye from aiohttp-ts" })).toBe(true);
      // websockets answers with our own code.
      expect(ws.closeCode).toBe(4000);
      const event = await py.event(id);
      expect(event.closeCode).toBe(4000);
      expect(event.closeReason).toBe("bye from aiohttp-ts");
    });

    test("close 4001 from websockets arrives as CLOSE with its code and reason", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/close?code=4001&reason=server+says+bye", id));
      const msg = await ws.receive(EVENT_TIMEOUT_MS);
      expect(msg.type).toBe(WSMsgType.CLOSE);
      expect([msg.data, msg.extra]).toEqual([4001, "server says bye"]);
      expect((await ws.receive(EVENT_TIMEOUT_MS)).type).toBe(WSMsgType.CLOSED);
      expect(ws.closeCode).toBe(4001);
      expect((await py.event(id)).closeCode).toBe(4001);
    });

    test("a message over maxMsgSize is an ERROR 1009 here and close 1009 there", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/big?size=100000", id), {
        maxMsgSize: 64 * 1024,
      });
      const msg = await ws.receive(EVENT_TIMEOUT_MS);
      expect(msg.type).toBe(WSMsgType.ERROR);
      expect(msg.data).toBeInstanceOf(WebSocketError);
      expect((msg.data as WebSocketError).closeCode).toBe(1009);
      expect(ws.closeCode).toBe(1009);
      expect((await py.event(id)).closeCode).toBe(1009);
    });

    // As in aiohttp: a failure ends the stream at once, with no CLOSING in between.
    test("after the ERROR 1009 the next read is CLOSED", async () => {
      const ws = await session().wsConnect(py.url("/big?size=100000", nextId()), {
        maxMsgSize: 64 * 1024,
      });
      expect((await ws.receive(EVENT_TIMEOUT_MS)).type).toBe(WSMsgType.ERROR);
      expect((await ws.receive(EVENT_TIMEOUT_MS)).type).toBe(WSMsgType.CLOSED);
    });

    test("a ping from websockets is answered without reading", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/ping", id));
      // The pong went out before this read; the server says so only after receiving it.
      expect(await ws.receiveStr(EVENT_TIMEOUT_MS)).toBe("pong received");
      await ws.close();
      expect((await py.event(id)).pong).toBe(true);
    });

    test("a message websockets sends in fragments arrives whole", async () => {
      const ws = await session().wsConnect(py.url("/fragments", nextId()));
      expect(await ws.receiveStr(EVENT_TIMEOUT_MS)).toBe("fragmented");
      await ws.close();
    });

    test("the websockets server logged no error", () => {
      expect(py.stderr()).toBe("");
    });
  });

  describe("our wsConnect calls a Python aiohttp server", () => {
    let py: PythonServer;
    const sessions: ClientSession[] = [];
    const session = (options: ConstructorParameters<typeof ClientSession>[0] = {}) => {
      const s = new ClientSession(options);
      sessions.push(s);
      return s;
    };

    beforeAll(async () => {
      py = await PythonServer.start("aiohttp");
    }, START_TIMEOUT_MS + 5_000);

    afterAll(async () => {
      await Promise.all(sessions.map((s) => s.close()));
      py?.stop();
    });

    test("a text message comes back as the same text", async () => {
      const ws = await session().wsConnect(py.url("/echo", nextId()));
      await ws.sendStr("hello zoë ✓ 👋");
      expect(await ws.receiveStr(EVENT_TIMEOUT_MS)).toBe("hello zoë ✓ 👋");
      await ws.close();
    });

    test("a binary message comes back byte for byte", async () => {
      const ws = await session().wsConnect(py.url("/echo", nextId()));
      await ws.sendBytes(ALL_BYTES);
      expect(await ws.receiveBytes(EVENT_TIMEOUT_MS)).toEqual(ALL_BYTES);
      await ws.close();
    });

    test("the protocol and compression aiohttp agrees to are seen on both sides", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/echo", id), {
        protocols: ["chat"],
        compress: true,
      });
      expect(ws.protocol).toBe("chat");
      expect(ws.compress).toBe(true);
      await ws.sendStr(COMPRESSIBLE);
      expect(await ws.receiveStr(EVENT_TIMEOUT_MS)).toBe(COMPRESSIBLE);
      await ws.close();
      const event = await py.event(id);
      expect(event.protocol).toBe("chat");
      // aiohttp's server reports the agreed window bits.
      expect(event.compress).toBe(15);
    });

    test("close 4000 with a reason reaches aiohttp's handler as CLOSE", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/echo", id));
      expect(await ws.close({ code: 4000, message: "bye from aiohttp-ts" })).toBe(true);
      // aiohttp answers any close frame with 1000; closeCode is the code of that answer.
      expect(ws.closeCode).toBe(1000);
      const event = await py.event(id);
      expect(event.closeMessage).toEqual({ code: 4000, reason: "bye from aiohttp-ts" });
      expect(event.closeCode).toBe(4000);
    });

    test("close 4001 from aiohttp arrives as CLOSE with its code and reason", async () => {
      const id = nextId();
      const ws = await session().wsConnect(py.url("/close?code=4001&reason=server+says+bye", id));
      const msg = await ws.receive(EVENT_TIMEOUT_MS);
      expect(msg.type).toBe(WSMsgType.CLOSE);
      expect([msg.data, msg.extra]).toEqual([4001, "server says bye"]);
      expect(ws.closeCode).toBe(4001);
      // Our answer echoes the code, and aiohttp's close() reports it.
      expect((await py.event(id)).closeCode).toBe(4001);
    });

    test("aiohttp's heartbeat pings are answered, so an idle connection stays open", async () => {
      const id = nextId();
      // aiohttp wants each pong within heartbeat / 2: with 0.2 s, that left 100 ms for two
      // processes on a busy machine to each get a turn. The server says when it has pinged
      // twice, rather than the test guessing how many pings fit in 800 ms.
      const ws = await session().wsConnect(py.url("/echo?heartbeat=0.5&pings=2", id));
      expect(await ws.receiveStr(5_000)).toBe("pinged 2 times");
      await ws.sendStr("still there?");
      expect(await ws.receiveStr(EVENT_TIMEOUT_MS)).toBe("still there?");
      await ws.close();
      const event = await py.event(id);
      expect(event.pings).toBeGreaterThanOrEqual(2);
      expect(event.exception).toBeNull();
      expect(event.closeMessage).toEqual({ code: 1000, reason: "" });
    });

    test("a cookie set in aiohttp's 101 answer lands in the jar and is sent back", async () => {
      const s = session({ cookieJar: new CookieJar({ unsafe: true }) });
      const ws = await s.wsConnect(py.url("/cookies", nextId()));
      expect(ws.headers.get("Set-Cookie")).toMatch(/^ws_session=abc123;/);
      await ws.close();
      const base = new URL(`http://127.0.0.1:${py.port}/`);
      expect(s.cookieJar.filterCookies(base)).toEqual({ ws_session: "abc123" });
      const resp = await s.get(new URL("/cookies/echo", base));
      expect(await resp.json()).toEqual({ ws_session: "abc123" });
    });

    test("the session's cookies ride on the handshake request", async () => {
      const id = nextId();
      const ws = await session({ cookies: { theme: "dark" } }).wsConnect(py.url("/echo", id));
      await ws.close();
      expect((await py.event(id)).cookies).toEqual({ theme: "dark" });
    });

    test("a 403 before the upgrade is a WSServerHandshakeError with status 403", async () => {
      const err = await session()
        .wsConnect(py.url("/forbidden"))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WSServerHandshakeError);
      expect((err as WSServerHandshakeError).status).toBe(403);
      expect((err as WSServerHandshakeError).headers?.get("Content-Type")).toMatch(/^text\/plain/);
    });

    test("the aiohttp server logged no error", () => {
      expect(py.stderr()).toBe("");
    });
  });
});
