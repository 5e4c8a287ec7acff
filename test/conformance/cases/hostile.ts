// Beyond Autobahn: frames and handshakes a hostile client sends (unmasked frames, oversize
// frames, big control frames, ping floods, bodies on the upgrade request).

import { DEFAULT_MAX_MSG_SIZE } from "../../../src/http/websocket.js";
import {
  type Case,
  custom,
  type Expectation,
  echo,
  fail,
  failed,
  info,
  type Judgement,
  nonStrict,
  ok,
  txt,
} from "../case.js";
import { cont, frame, frameHead, OP, ping, text } from "../frames.js";
import type { Outcome } from "../peer.js";
import { upgradeRequest } from "../peer.js";

const section = "Hostile peers" as const;
const MIB = 1024 * 1024;

/** A handshake the server must refuse with a 4xx (and never upgrade). */
const refused = custom((o) => {
  if (o.status >= 400 && o.status < 500) return ok(`refused: ${o.status}`);
  return failed(`handshake answered ${o.status || "nothing"}`);
});

/**
 * A flood the server answers in full (OK) or cuts by dropping the connection (OK too: it is
 * bounded); FAILED when it neither answers nor drops within the time.
 */
function flood(pings: readonly string[], message: string): Expectation {
  const full = echo([txt(message)], { pongs: pings });
  return {
    done: (o) => full.done(o) || o.ended,
    judge(o): Judgement {
      const answered = full.judge(o);
      if (answered.verdict === "OK") return ok(`answered every ping: ${answered.detail}`);
      if (o.status === 101 && o.ended && o.faults.length === 0) {
        return ok(
          `cut the flood after ${o.pongs.length} pongs (${o.serverClose?.code ?? "no close frame"})`,
        );
      }
      return answered;
    },
  };
}

/**
 * An upgrade request with a body: refusing it is OK; upgrading and skipping the body is
 * NON-STRICT; reading the body as frames is FAILED (a proxy that framed the body as HTTP
 * would let one client smuggle frames into the connection).
 */
const bodyRefused = custom(
  (o: Outcome): Judgement => {
    if (o.status >= 400 && o.status < 500) return ok(`refused: ${o.status}`);
    if (o.status !== 101) return failed(`handshake answered ${o.status || "nothing"}`);
    const c = o.serverClose;
    const onlyOurs =
      o.messages.length === 1 && o.messages[0]?.payload.toString() === "after the body";
    if (onlyOurs && c?.answered === true && c.code === 1000) {
      return nonStrict("upgraded and skipped the body");
    }
    const smuggled = o.messages.some((m) => m.payload.toString() === "smuggled");
    return failed(
      smuggled
        ? "upgraded and delivered the body as a message"
        : `upgraded and read the body as frames: close ${c?.code ?? "none"}`,
    );
  },
  (o) => o.messages.length > 0 || o.serverClose !== null,
);

const PINGS = Array.from({ length: 5000 }, (_, i) => `p${i}`);
const BIG_PINGS = Array.from({ length: 1000 }, (_, i) => `${i}`.padEnd(125, "*"));

export const hostileCases: readonly Case[] = [
  {
    id: "H.1.1",
    section,
    title: "unmasked text frame (RFC 6455 5.1: the server must close)",
    send: (p) => p.send(frame({ opcode: OP.TEXT, payload: "Hello", masked: false })),
    expect: fail([1002]),
  },
  {
    id: "H.1.2",
    section,
    title: "masked text, then an unmasked ping",
    send: (p) => p.send([text("Hello"), frame({ opcode: OP.PING, payload: "x", masked: false })]),
    expect: fail([1002], { before: [txt("Hello")] }),
  },
  {
    id: "H.2.1",
    section,
    title: "frame header announcing the limit + 1 byte: failed before the payload comes",
    send: (p) => p.send(frameHead(OP.BINARY, DEFAULT_MAX_MSG_SIZE + 1)),
    expect: fail([1009]),
  },
  {
    id: "H.2.2",
    section,
    title: "message over the limit in 1 MiB fragments",
    send: (p) =>
      p.send([
        ...Array.from({ length: 4 }, (_, i) =>
          frame({ opcode: i === 0 ? OP.BINARY : OP.CONT, payload: Buffer.alloc(MIB), fin: false }),
        ),
        cont(Buffer.alloc(1)),
      ]),
    expect: fail([1009]),
    timeout: 10_000,
  },
  {
    id: "H.2.3",
    section,
    title: "frame header announcing 2^62 bytes",
    send: (p) => p.send(frameHead(OP.BINARY, 2 ** 62)),
    expect: fail([1009]),
  },
  {
    id: "H.2.4",
    section,
    title: "64-bit length with the most significant bit set (RFC 6455 5.2 forbids it)",
    send: (p) => {
      const head = frameHead(OP.BINARY, 0);
      head[2] = 0x80;
      return p.send(head);
    },
    expect: fail([1002, 1009]),
  },
  {
    id: "H.2.5",
    section,
    title: "message in 20,000 empty fragments",
    send: (p) =>
      p.send([
        text("", false),
        ...Array.from({ length: 19_998 }, () => cont("", false)),
        cont("end"),
      ]),
    expect: custom(
      (o) => {
        const whole = echo([txt("end")]).judge(o);
        if (whole.verdict === "OK") return whole;
        const failing = fail([1008, 1009]).judge(o);
        return failing.verdict === "FAILED" ? whole : failing;
      },
      (o) => o.messages.length > 0 || o.ended || o.serverClose !== null,
    ),
  },
  {
    id: "H.3.1",
    section,
    title: "pong of 126 bytes",
    send: (p) => p.send(frame({ opcode: OP.PONG, payload: Buffer.alloc(126) })),
    expect: fail([1002]),
  },
  {
    id: "H.3.2",
    section,
    title: "ping of 64 KiB (64-bit length)",
    send: (p) => p.send(frame({ opcode: OP.PING, payload: Buffer.alloc(65536) })),
    expect: fail([1002]),
  },
  {
    id: "H.3.3",
    section,
    title: "close of 200 bytes",
    send: (p) =>
      p.send(frame({ opcode: OP.CLOSE, payload: Buffer.alloc(200, 0x41).fill(3, 0, 1) })),
    expect: fail([1002]),
  },
  {
    id: "H.4.1",
    section,
    title: "flood of 5000 pings in one write, then a text: answered in full, or cut",
    send: (p) => p.send([...PINGS.map((x) => ping(x)), text("after the flood")]),
    expect: flood(PINGS, "after the flood"),
    timeout: 10_000,
  },
  {
    id: "H.4.2",
    section,
    title: "flood of 1000 pings of 125 bytes in writes of 4 KiB: answered in full, or cut",
    send: (p) => p.send([...BIG_PINGS.map((x) => ping(x)), text("after the flood")], 4096),
    expect: flood(BIG_PINGS, "after the flood"),
    timeout: 10_000,
  },
  {
    id: "H.4.3",
    section,
    title: "200 pings, each sent once the previous pong came, then a text",
    async send(p) {
      for (let i = 0; i < 200; i++) {
        await p.send(ping(PINGS[i] as string));
        if (!(await p.waitFor(() => p.outcome.pongs.length > i, 2000))) return;
      }
      await p.send(text("after the pings"));
    },
    expect: echo([txt("after the pings")], { pongs: PINGS.slice(0, 200) }),
    timeout: 10_000,
  },
  {
    id: "H.5.1",
    section,
    title: "upgrade request with a body (Content-Length: 5)",
    request: (path) => upgradeRequest(path, ["Content-Length: 5"], "hello"),
    send: (p) => p.send(text("after the body")),
    expect: bodyRefused,
  },
  {
    id: "H.5.2",
    section,
    title: "upgrade request whose body is a WebSocket frame",
    request: (path) => {
      const smuggled = text("smuggled");
      const head = upgradeRequest(path, [`Content-Length: ${smuggled.length}`]);
      return Buffer.concat([Buffer.from(head), smuggled]);
    },
    send: (p) => p.send(text("after the body")),
    expect: bodyRefused,
  },
  {
    id: "H.5.3",
    section,
    title: "upgrade request with a chunked body",
    request: (path) =>
      upgradeRequest(path, ["Transfer-Encoding: chunked"], "5\r\nhello\r\n0\r\n\r\n"),
    send: (p) => p.send(text("after the body")),
    expect: bodyRefused,
  },
  {
    id: "H.6.1",
    section,
    title: "handshake with Sec-WebSocket-Version: 8 (a draft version)",
    request: (path) => upgradeRequest(path).replace("Version: 13", "Version: 8"),
    send: async () => {},
    // RFC 6455 4.2.2: refused unless the server speaks that version (`ws` speaks hybi-08).
    expect: custom((o) =>
      o.status === 101 ? info("upgraded: speaks version 8 too") : refused.judge(o),
    ),
    timeout: 0,
  },
  {
    id: "H.6.2",
    section,
    title: "handshake with a key that is not 16 bytes in base64",
    request: (path) => upgradeRequest(path).replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),
    send: async () => {},
    expect: refused,
    timeout: 0,
  },
  {
    id: "H.6.3",
    section,
    title: "handshake without Sec-WebSocket-Key",
    request: (path) =>
      upgradeRequest(path).replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
    send: async () => {},
    expect: refused,
    timeout: 0,
  },
  {
    id: "H.6.4",
    section,
    title: "handshake with POST",
    request: (path) => upgradeRequest(path).replace("GET", "POST"),
    send: async () => {},
    expect: refused,
    timeout: 0,
  },
];
