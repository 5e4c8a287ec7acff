// Autobahn 12 and 13, and RFC 7692: permessage-deflate negotiation, compressed messages
// (whole and fragmented), and the faults of a compressed stream.
import { bin, type Case, custom, echo, fail, failed, nonStrict, ok, txt } from "../case.js";
import { deflate, frame, OP, RSV1 } from "../frames.js";
import type { Outcome } from "../peer.js";

const section = "permessage-deflate" as const;
const OFFER = "Sec-WebSocket-Extensions: permessage-deflate";

function extensionsOf(o: Outcome): string | null {
  for (const line of o.headers) {
    const colon = line.indexOf(":");
    if (line.slice(0, colon).trim().toLowerCase() === "sec-websocket-extensions") {
      return line.slice(colon + 1).trim();
    }
  }
  return null;
}

/** The server's answer to an offer: 101 with (or without) the extension and `params`. */
function agrees(params: readonly string[]) {
  return custom((o) => {
    if (o.status !== 101) return failed(`handshake answered ${o.status || "nothing"}`);
    const ext = extensionsOf(o);
    if (ext === null || !ext.startsWith("permessage-deflate")) {
      return failed(`extension not agreed: ${ext ?? "no header"}`);
    }
    const missing = params.filter((p) => !ext.includes(p));
    if (missing.length > 0) return failed(`answer ${ext} lacks ${missing.join(", ")}`);
    return ok(ext);
  });
}

/** RFC 7692 5: an offer with an invalid parameter is declined; a 400 is NON-STRICT. */
const declines = custom((o) => {
  if (o.status === 101) {
    const ext = extensionsOf(o);
    return ext === null ? ok("declined, 101 without the extension") : failed(`agreed: ${ext}`);
  }
  if (o.status >= 400 && o.status < 500) return nonStrict(`refused the handshake: ${o.status}`);
  return failed(`handshake answered ${o.status || "nothing"}`);
});

const negotiation: Case[] = [
  ["permessage-deflate", []],
  ["permessage-deflate; client_max_window_bits", []],
  ["permessage-deflate; server_no_context_takeover", ["server_no_context_takeover"]],
  ["permessage-deflate; client_no_context_takeover", []],
  ["permessage-deflate; server_max_window_bits=10", ["server_max_window_bits=10"]],
  ["permessage-deflate; client_max_window_bits=9", []],
].map(
  ([offer, params], i): Case => ({
    id: `13.1.${i + 1}`,
    section,
    title: `offer "${offer}": agreed`,
    headers: [`Sec-WebSocket-Extensions: ${offer}`],
    send: async () => {},
    expect: agrees(params as string[]),
    timeout: 0,
  }),
);
negotiation.push(
  ...[
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; foo=bar",
    "permessage-deflate; server_no_context_takeover=yes",
  ].map(
    (offer, i): Case => ({
      id: `13.2.${i + 1}`,
      section,
      title: `offer with an invalid parameter "${offer}": declined`,
      headers: [`Sec-WebSocket-Extensions: ${offer}`],
      send: async () => {},
      expect: declines,
      timeout: 0,
    }),
  ),
  {
    id: "13.2.5",
    section,
    title: "an unknown extension only: 101 without extensions",
    headers: ["Sec-WebSocket-Extensions: x-webkit-deflate-frame"],
    send: async () => {},
    expect: declines,
    timeout: 0,
  },
);

/** A compressed message in one frame (RSV1 on it). */
const compressed = (opcode: number, payload: string | Uint8Array): Buffer =>
  frame({ opcode, payload: deflate(payload), rsv: RSV1 });

const SIZES = [16, 64, 256, 1024, 4096, 65536];
const sample = (n: number): string =>
  Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join("");

const messages: Case[] = [];
SIZES.forEach((n, i) => {
  messages.push(
    {
      id: `12.1.${i + 1}`,
      section,
      title: `compressed text of ${n} bytes`,
      headers: [OFFER],
      send: (p) => p.send(compressed(OP.TEXT, sample(n))),
      expect: echo([txt(sample(n))]),
    },
    {
      id: `12.2.${i + 1}`,
      section,
      title: `compressed binary of ${n} bytes`,
      headers: [OFFER],
      send: (p) => p.send(compressed(OP.BINARY, Buffer.from(sample(n)))),
      expect: echo([bin(sample(n))]),
    },
  );
});

const MANY = Array.from({ length: 100 }, (_, i) => `${sample(1100)}-${i}`);
messages.push(
  {
    id: "12.3.1",
    section,
    title: "100 compressed messages: the server's echoes share one compression context",
    headers: [OFFER],
    send: (p) => p.send(MANY.map((m) => compressed(OP.TEXT, m))),
    expect: echo(MANY.map((m) => txt(m))),
    timeout: 5000,
  },
  {
    id: "12.3.2",
    section,
    title: "100 compressed messages with server_no_context_takeover",
    headers: [`${OFFER}; server_no_context_takeover`],
    send: (p) => p.send(MANY.map((m) => compressed(OP.TEXT, m))),
    expect: echo(MANY.map((m) => txt(m))),
    timeout: 5000,
  },
  {
    id: "12.4.1",
    section,
    title: "compressed text in 3 fragments (RSV1 on the first only)",
    headers: [OFFER],
    send(p) {
      const data = deflate(sample(4096));
      const third = Math.ceil(data.length / 3);
      return p.send([
        frame({ opcode: OP.TEXT, payload: data.subarray(0, third), rsv: RSV1, fin: false }),
        frame({ opcode: OP.CONT, payload: data.subarray(third, 2 * third), fin: false }),
        frame({ opcode: OP.CONT, payload: data.subarray(2 * third) }),
      ]);
    },
    expect: echo([txt(sample(4096))]),
  },
  {
    id: "12.4.2",
    section,
    title: "uncompressed message on a compressed connection (RSV1 clear): echoed",
    headers: [OFFER],
    send: (p) => p.send(frame({ opcode: OP.TEXT, payload: "plain" })),
    expect: echo([txt("plain")]),
  },
  {
    id: "12.5.1",
    section,
    title: "RSV1 on a continuation frame",
    headers: [OFFER],
    send(p) {
      const data = deflate(sample(256));
      return p.send([
        frame({ opcode: OP.TEXT, payload: data.subarray(0, 10), rsv: RSV1, fin: false }),
        frame({ opcode: OP.CONT, payload: data.subarray(10), rsv: RSV1 }),
      ]);
    },
    expect: fail([1002]),
  },
  {
    id: "12.5.2",
    section,
    title: "RSV1 on a ping (control frames are never compressed)",
    headers: [OFFER],
    send: (p) => p.send(frame({ opcode: OP.PING, payload: "ping", rsv: RSV1 })),
    expect: fail([1002]),
  },
  {
    id: "12.5.3",
    section,
    title: "compressed data that does not inflate",
    headers: [OFFER],
    send: (p) =>
      p.send(frame({ opcode: OP.TEXT, payload: Buffer.from("ffffffffffff", "hex"), rsv: RSV1 })),
    expect: fail([1007, 1002]),
  },
  {
    id: "12.5.4",
    section,
    title: "compressed text that inflates to invalid UTF-8",
    headers: [OFFER],
    send: (p) => p.send(compressed(OP.TEXT, Buffer.from("c0af", "hex"))),
    expect: fail([1007]),
  },
  {
    id: "12.5.5",
    section,
    title: "compression bomb: 4 KiB that inflate past the message limit",
    headers: [OFFER],
    send: (p) => p.send(compressed(OP.BINARY, Buffer.alloc(4 * 1024 * 1024 + 1))),
    expect: fail([1009]),
    // The server inflates 4 MiB before it can tell: the bound of the other 4 MiB cases.
    timeout: 10_000,
  },
  {
    id: "12.5.6",
    section,
    title: "RSV2 on a compressed connection",
    headers: [OFFER],
    send: (p) => p.send(frame({ opcode: OP.TEXT, payload: deflate("x"), rsv: RSV1 | 0x20 })),
    expect: fail([1002]),
  },
);

export const deflateCases: readonly Case[] = [...negotiation, ...messages];
