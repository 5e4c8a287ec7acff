// The server's own WebSocket frame layer (src/http/ws-protocol): what the conformance cases do
// not pin down byte for byte. Unmasking at every alignment and length, the handshake's
// extension and subprotocol answers against `ws`'s server, and the close code a handler sees
// for failures whose code `ws` did not report.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WSMessage, WSMsgType, web } from "../../src/index.js";
import { binary, cont, deflate, frame, OP, ping, RSV1, text } from "../conformance/frames.js";
import { Peer, upgradeRequest } from "../conformance/peer.js";
import { type EchoServer, useEchoPair } from "../conformance/servers.js";
import { quiet, useRunners } from "../helpers.js";

const WAIT = 5000;

const servers = useEchoPair();

async function open(server: EchoServer, extra: readonly string[] = []): Promise<Peer> {
  return Peer.open(server.port, upgradeRequest(server.path, extra), WAIT);
}

function extensionsHeader(peer: Peer): string | null {
  const line = peer.outcome.headers.find((h) => /^sec-websocket-extensions:/i.test(h));
  return line === undefined ? null : line.slice(line.indexOf(":") + 1).trim();
}

describe("unmasking", () => {
  // Frame heads of 6, 8 and 14 bytes and these lengths put payloads at every offset modulo 4,
  // on both sides of the word-wise path's 32-byte threshold.
  const LENGTHS = [0, 1, 3, 4, 5, 31, 32, 33, 34, 35, 125, 126, 127, 1000, 65535, 65536, 70001];
  const payloads = LENGTHS.map((n) => randomBytes(n));

  it.each([
    ["in one write", undefined],
    ["chopped into 7-byte writes", 7],
    ["chopped into 4093-byte writes", 4093],
  ])(
    "binary payloads of every length and alignment come back byte for byte, %s",
    async (_name, chop) => {
      const peer = await open(servers.ours);
      await peer.send(
        payloads.map((p) => binary(p)),
        chop,
      );
      expect(await peer.waitFor(() => peer.outcome.messages.length === payloads.length, WAIT)).toBe(
        true,
      );
      const got = peer.outcome.messages.map((m) => m.payload);
      for (const [i, p] of payloads.entries())
        expect(got[i]?.equals(p), `length ${p.length}`).toBe(true);
      peer.destroy();
    },
  );

  it("a text message split over fragments of odd sizes is reassembled and checked as UTF-8", async () => {
    const message = "ünïcödé ✓ ".repeat(500);
    const bytes = Buffer.from(message);
    const peer = await open(servers.ours);
    await peer.send([
      text(bytes.subarray(0, 33), false),
      cont(bytes.subarray(33, 1001), false),
      cont(bytes.subarray(1001)),
    ]);
    expect(await peer.waitFor(() => peer.outcome.messages.length === 1, WAIT)).toBe(true);
    expect(peer.outcome.messages[0]?.payload.toString("utf8")).toBe(message);
    peer.destroy();
  });
});

describe("the handshake answers as ws's server does", () => {
  const OFFERS = [
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate; client_max_window_bits=12; server_max_window_bits=10",
    "permessage-deflate;server_no_context_takeover;client_no_context_takeover",
    'permessage-deflate; server_max_window_bits="11"',
    "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=9",
    "permessage-deflate; server_max_window_bits=8, permessage-deflate",
    "x-other; a=1",
    // Not an extension list: both refuse the handshake (400).
    "permessage-deflate,",
    "",
    "permessage-deflate; =1",
    'permessage-deflate; server_max_window_bits="1 0"',
  ];

  /** What ours and the reference answered to one offer: status and extensions agreed. */
  async function answers(offer: string): Promise<{ status: number; extensions: string | null }[]> {
    const peers = await Promise.all(
      [servers.ours, servers.reference].map((server) =>
        open(server, [`Sec-WebSocket-Extensions: ${offer}`]),
      ),
    );
    for (const p of peers) p.destroy();
    return peers.map((p) => ({ status: p.outcome.status, extensions: extensionsHeader(p) }));
  }

  it.each(OFFERS)("Sec-WebSocket-Extensions: %s", async (offer) => {
    const [mine, theirs] = await answers(offer);
    expect(mine).toEqual(theirs);
  });

  // RFC 7692 7.1: an offer with an unknown, repeated or invalid parameter is declined, and the
  // next offer considered. `ws` refuses the whole handshake with 400 instead.
  it.each([
    ["permessage-deflate; server_max_window_bits", null],
    ["permessage-deflate; client_max_window_bits=7", null],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", null],
    [
      "permessage-deflate; foo, permessage-deflate; client_max_window_bits=10",
      "permessage-deflate; client_max_window_bits=10",
    ],
    [
      "permessage-deflate; server_no_context_takeover=yes, permessage-deflate",
      "permessage-deflate",
    ],
  ])("an invalid offer is declined, where ws refuses: %s", async (offer, agreed) => {
    const [mine, theirs] = await answers(offer);
    expect(mine).toEqual({ status: 101, extensions: agreed });
    expect(theirs?.status).toBe(400);
  });

  it.each(["chat, chat", "chat,, superchat", "chat superchat", ""])(
    "Sec-WebSocket-Protocol: %j is refused with 400 by both",
    async (offer) => {
      const peers = await Promise.all(
        [servers.ours, servers.reference].map((server) =>
          open(server, [`Sec-WebSocket-Protocol: ${offer}`]),
        ),
      );
      expect(peers.map((p) => p.outcome.status)).toEqual([400, 400]);
      for (const p of peers) p.destroy();
    },
  );

  it("a compressed message after an agreed window of 9 bits inflates and echoes", async () => {
    const peer = await open(servers.ours, [
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9; server_max_window_bits=9",
    ]);
    expect(extensionsHeader(peer)).toBe(
      "permessage-deflate; client_max_window_bits=9; server_max_window_bits=9",
    );
    const message = "abcdefgh".repeat(2000);
    await peer.send(frame({ opcode: OP.TEXT, rsv: RSV1, payload: deflate(message) }));
    expect(await peer.waitFor(() => peer.outcome.messages.length === 1, WAIT)).toBe(true);
    expect(peer.outcome.messages[0]?.payload.toString()).toBe(message);
    peer.destroy();
  });
});

describe("sequences the differential fuzz run found (test/fuzz/ws-frames.test.ts)", () => {
  /** Plays the same bytes to ours and to ws, then the client's FIN; what each did. */
  async function both(pieces: Buffer[]): Promise<unknown[]> {
    return Promise.all(
      [servers.ours, servers.reference].map(async (server) => {
        const peer = await open(server, ["Sec-WebSocket-Extensions: permessage-deflate"]);
        await peer.send(pieces);
        if (!(await peer.waitFor(() => peer.outcome.ended, 500))) peer.end();
        await peer.waitFor(() => peer.outcome.ended, WAIT);
        const o = peer.outcome;
        return {
          ended: o.ended,
          messages: o.messages.map((m) => `${m.opcode}:${m.payload.toString("hex")}`),
          close: o.serverClose?.code,
        };
      }),
    );
  }

  it("a compressed message holding a final deflate block: the next one starts a new stream (1007 here)", async () => {
    const [mine, theirs] = await both([
      Buffer.from([194, 130, 240, 220, 112, 56, 195, 220]),
      Buffer.from([194, 129, 11, 17, 250, 188, 15]),
    ]);
    expect(theirs).toEqual({ ended: true, messages: ["2:30"], close: 1007 });
    expect(mine).toEqual(theirs);
  });

  it("a close frame without a code, behind a message the handler has not read, is answered without a code", async () => {
    const [mine, theirs] = await both([
      Buffer.from([130, 128, 219, 123, 217, 112]),
      Buffer.from([136, 128, 94, 229, 152, 182]),
    ]);
    expect(theirs).toEqual({ ended: true, messages: ["2:"], close: null });
    expect(mine).toEqual(theirs);
  });
});

describe("failures: the code the handler sees is the code sent", () => {
  let runner: web.AppRunner;
  let port: number;
  const seen: { code: number | null; exception: string | null }[] = [];
  const waiters: (() => void)[] = [];

  beforeAll(async () => {
    const app = new web.Application({ logger: quiet });
    app.router.addGet("/ws", async (request) => {
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      for await (const msg of ws) if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
      seen.push({ code: ws.closeCode, exception: ws.exception()?.message ?? null });
      for (const wake of waiters.splice(0)) wake();
      return ws;
    });
    runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    const site = new web.TCPSite(runner, "127.0.0.1", 0);
    await site.start();
    port = site.port;
  });
  afterAll(async () => {
    await runner.cleanup();
  });

  async function failWith(
    extra: string[],
    frames: Buffer[],
  ): Promise<{ sent: number | null; seen: number | null }> {
    const before = seen.length;
    const done = new Promise<void>((resolve) => waiters.push(resolve));
    const peer = await Peer.open(port, upgradeRequest("/ws", extra), WAIT);
    expect(peer.outcome.status).toBe(101);
    await peer.send(frames);
    await done;
    await peer.waitFor(() => peer.outcome.ended, WAIT);
    return { sent: peer.outcome.serverClose?.code ?? null, seen: seen[before]?.code ?? null };
  }

  it("data that does not inflate: 1007 on the wire and in closeCode", async () => {
    const result = await failWith(
      ["Sec-WebSocket-Extensions: permessage-deflate"],
      [frame({ opcode: OP.TEXT, rsv: RSV1, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]) })],
    );
    expect(result).toEqual({ sent: 1007, seen: 1007 });
  });

  it("a message of more than 16,384 fragments: 1008 on the wire and in closeCode", async () => {
    const frames = [text("a", false)];
    for (let i = 0; i < 16_384; i++) frames.push(cont("a", false));
    frames.push(cont("a"));
    const result = await failWith([], [Buffer.concat(frames)]);
    expect(result).toEqual({ sent: 1008, seen: 1008 });
  });
});

const start = useRunners();

/**
 * Serves a WebSocket at /ws whose handler hands every message to `onMessage`; `ended` resolves
 * with its `closeCode` once its loop is over.
 */
async function serveSession(
  onMessage: (msg: WSMessage) => void,
): Promise<{ port: number; ended: Promise<number | null> }> {
  let ended: (code: number | null) => void = () => {};
  const handlerEnded = new Promise<number | null>((resolve) => {
    ended = resolve;
  });
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse();
    await ws.prepare(request);
    for await (const msg of ws) onMessage(msg);
    ended(ws.closeCode);
    return ws;
  });
  const { port } = await start(app, { accessLog: null });
  return { port, ended: handlerEnded };
}

/** A raw client socket past the 101 (the handshake's answer read). */
async function rawSession(port: number, extra: readonly string[] = []): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.write(upgradeRequest("/ws", extra));
  await once(socket, "data");
  return socket;
}

describe("a connection that closes while a message inflates", () => {
  it("delivers the message before the end", async () => {
    const got: string[] = [];
    const { port, ended } = await serveSession((msg) =>
      got.push(msg.type === WSMsgType.TEXT ? `${msg.data.length}` : `${msg.type}`),
    );
    const socket = await rawSession(port, ["Sec-WebSocket-Extensions: permessage-deflate"]);
    const message = randomBytes(300_000).toString("hex");
    // The frame and the FIN in one go: the socket ends while zlib still works on the message.
    socket.end(frame({ opcode: OP.TEXT, rsv: RSV1, payload: deflate(message) }));
    await ended;
    expect(got).toEqual([`${message.length}`]);
  });
});

describe("reading resumes after an inflation", () => {
  it("when the bytes behind the compressed message end inside a frame", async () => {
    const peer = await open(servers.ours, ["Sec-WebSocket-Extensions: permessage-deflate"]);
    const first = "x".repeat(100_000);
    const second = randomBytes(40_000);
    const tail = binary(second);
    const cut = 20_000;
    // One write: the compressed message (inflated off the thread) and half of the next frame,
    // more than the 16 KiB the connection holds before it pauses the socket.
    await peer.send([
      frame({ opcode: OP.TEXT, rsv: RSV1, payload: deflate(first) }),
      tail.subarray(0, cut),
    ]);
    expect(await peer.waitFor(() => peer.outcome.messages.length === 1, WAIT)).toBe(true);
    await peer.send(tail.subarray(cut));
    expect(await peer.waitFor(() => peer.outcome.messages.length === 2, WAIT)).toBe(true);
    expect(peer.outcome.messages[1]?.payload.equals(second)).toBe(true);
    peer.destroy();
  });
});

describe("a connection that closes while a bad message inflates", () => {
  it("tells the handler of the failure (1007), then ends", async () => {
    const got: string[] = [];
    const { port, ended } = await serveSession((msg) => got.push(String(msg.type)));
    const socket = await rawSession(port, ["Sec-WebSocket-Extensions: permessage-deflate"]);
    const invalid = Buffer.concat([randomBytes(200_000).fill(0x41), Buffer.from([0xff])]);
    socket.end(frame({ opcode: OP.TEXT, rsv: RSV1, payload: deflate(invalid) }));
    expect(await ended).toBe(1007);
    expect(got).toEqual([String(WSMsgType.ERROR)]);
  });
});

describe("a client that pings and does not read", () => {
  it("is cut once 60 pongs wait to be written; the handler ends with 1006", async () => {
    // Only pings arrive, answered by the connection itself.
    const { port, ended } = await serveSession(() => {});
    const socket = await rawSession(port);
    // From here the client never reads: the pongs fill both sockets' buffers, then stay in
    // the server's queue until the 61st ping cuts the connection.
    socket.pause();
    const pings = Buffer.concat(Array.from({ length: 1000 }, () => ping("p".repeat(125))));
    // Each write waits for the kernel to take the one before, so the client's own queue stays
    // small; the server's reset ends the loop.
    for (let i = 0; i < 150 && !socket.destroyed; i++) {
      await new Promise((resolve) => socket.write(pings, resolve));
    }
    expect(await ended).toBe(1006);
    socket.destroy();
  });
});
