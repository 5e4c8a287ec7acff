// Autobahn 1-4: framing of text and binary messages, pings and pongs, reserved bits, opcodes.
import { bin, type Case, echo, fail, txt } from "../case.js";
import { binary, frame, OP, ping, pong, RSV1, RSV2, RSV3, text } from "../frames.js";

/** Payload lengths around each length encoding of RFC 6455 5.2 (7 bits, 16 bits, 64 bits). */
const SIZES = [0, 125, 126, 127, 128, 65535, 65536];

const textOf = (n: number): string => "*".repeat(n);
const bytesOf = (n: number): Buffer => Buffer.alloc(n, 0xfe);

const framing: Case[] = [
  ...SIZES.map(
    (n, i): Case => ({
      id: `1.1.${i + 1}`,
      section: "Framing",
      title: `text message of ${n} bytes`,
      send: (p) => p.send(text(textOf(n))),
      expect: echo([txt(textOf(n))]),
    }),
  ),
  {
    id: "1.1.8",
    section: "Framing",
    title: "text message of 65536 bytes, written in chops of 997 bytes",
    send: (p) => p.send(text(textOf(65536)), 997),
    expect: echo([txt(textOf(65536))]),
  },
  ...SIZES.map(
    (n, i): Case => ({
      id: `1.2.${i + 1}`,
      section: "Framing",
      title: `binary message of ${n} bytes`,
      send: (p) => p.send(binary(bytesOf(n))),
      expect: echo([bin(bytesOf(n))]),
    }),
  ),
  {
    id: "1.2.8",
    section: "Framing",
    title: "binary message of 65536 bytes, written in chops of 997 bytes",
    send: (p) => p.send(binary(bytesOf(65536)), 997),
    expect: echo([bin(bytesOf(65536))]),
  },
  {
    id: "1.3.1",
    section: "Framing",
    title: "a 16-bit length used for a 5-byte payload (non-minimal encoding is allowed)",
    send: (p) => {
      const f = Buffer.from([0x81, 0x80 | 126, 0, 5, 0, 0, 0, 0, ...Buffer.from("hello")]);
      return p.send(f);
    },
    expect: echo([txt("hello")]),
  },
];

const LONG = Buffer.alloc(125, 0xfe);
const pings: Case[] = [
  ["2.1", "ping without payload", ""],
  ["2.2", "ping with a small text payload", "Hello, world!"],
  ["2.3", "ping with a small binary payload", Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb])],
  ["2.4", "ping with a 125-byte payload", LONG],
].map(
  ([id, title, payload]): Case => ({
    id: id as string,
    section: "Pings and pongs",
    title: title as string,
    send: (p) => p.send(ping(payload as string | Buffer)),
    expect: echo([], { pongs: [payload as string | Buffer] }),
  }),
);
pings.push(
  {
    id: "2.5",
    section: "Pings and pongs",
    title: "ping with a 126-byte payload (control frames carry at most 125)",
    send: (p) => p.send(ping(Buffer.alloc(126, 0xfe))),
    expect: fail([1002]),
  },
  {
    id: "2.6",
    section: "Pings and pongs",
    title: "ping with a 125-byte payload, written one byte at a time",
    send: (p) => p.send(ping(LONG), 1),
    expect: echo([], { pongs: [LONG] }),
  },
  {
    id: "2.7",
    section: "Pings and pongs",
    title: "unsolicited pong without payload: ignored",
    send: (p) => p.send(pong()),
    expect: echo([], { pongs: [] }),
  },
  {
    id: "2.8",
    section: "Pings and pongs",
    title: "unsolicited pong with payload: ignored",
    send: (p) => p.send(pong("unsolicited pong payload")),
    expect: echo([], { pongs: [] }),
  },
  {
    id: "2.9",
    section: "Pings and pongs",
    title: "unsolicited pong, then a ping: one pong for the ping",
    send: (p) => p.send([pong("unsolicited pong payload"), ping("ping payload")]),
    expect: echo([], { pongs: ["ping payload"] }),
  },
  {
    id: "2.10",
    section: "Pings and pongs",
    title: "10 pings in a row: a pong for each",
    send: (p) => p.send(Array.from({ length: 10 }, (_, i) => ping(`payload-${i}`))),
    expect: echo([], { pongs: Array.from({ length: 10 }, (_, i) => `payload-${i}`) }),
  },
  {
    id: "2.11",
    section: "Pings and pongs",
    title: "10 pings, each in its own write",
    send: (p) => p.sendEach(Array.from({ length: 10 }, (_, i) => ping(`payload-${i}`))),
    expect: echo([], { pongs: Array.from({ length: 10 }, (_, i) => `payload-${i}`) }),
  },
);

const HELLO = "Hello, world!";
const rsv: Case[] = [
  {
    id: "3.1",
    section: "Reserved bits",
    title: "text with RSV1 set, no extension agreed",
    send: (p) => p.send(frame({ opcode: OP.TEXT, payload: HELLO, rsv: RSV1 })),
    expect: fail([1002]),
  },
  {
    id: "3.2",
    section: "Reserved bits",
    title: "text, then text with RSV2, then ping",
    send: (p) =>
      p.send([text(HELLO), frame({ opcode: OP.TEXT, payload: HELLO, rsv: RSV2 }), ping(HELLO)]),
    expect: fail([1002], { before: [txt(HELLO)] }),
  },
  {
    id: "3.3",
    section: "Reserved bits",
    title: "text, then text with RSV1|RSV2, then ping, each in its own write",
    send: (p) =>
      p.sendEach([
        text(HELLO),
        frame({ opcode: OP.TEXT, payload: HELLO, rsv: RSV1 | RSV2 }),
        ping(HELLO),
      ]),
    expect: fail([1002], { before: [txt(HELLO)] }),
  },
  {
    id: "3.4",
    section: "Reserved bits",
    title: "text, then text with RSV3, then ping, written one byte at a time",
    send: (p) =>
      p.send([text(HELLO), frame({ opcode: OP.TEXT, payload: HELLO, rsv: RSV3 }), ping(HELLO)], 1),
    expect: fail([1002], { before: [txt(HELLO)] }),
  },
  {
    id: "3.5",
    section: "Reserved bits",
    title: "binary with RSV1|RSV3",
    send: (p) => p.send(frame({ opcode: OP.BINARY, payload: bytesOf(8), rsv: RSV1 | RSV3 })),
    expect: fail([1002]),
  },
  {
    id: "3.6",
    section: "Reserved bits",
    title: "ping with RSV2|RSV3",
    send: (p) => p.send(frame({ opcode: OP.PING, payload: HELLO, rsv: RSV2 | RSV3 })),
    expect: fail([1002]),
  },
  {
    id: "3.7",
    section: "Reserved bits",
    title: "close with all RSV bits",
    send: (p) =>
      p.send(frame({ opcode: OP.CLOSE, payload: Buffer.from([3, 232]), rsv: RSV1 | RSV2 | RSV3 })),
    expect: fail([1002]),
  },
];

const opcodes: Case[] = [];
for (const [group, codes] of [
  [1, [3, 4, 5, 6, 7]],
  [2, [11, 12, 13, 14, 15]],
] as const) {
  const kind = group === 1 ? "data" : "control";
  codes.forEach((op, i) => {
    const odd = frame({ opcode: op, payload: i % 2 === 0 ? "" : "reserved payload" });
    const sequence = i < 2 ? [odd] : [text(HELLO), odd, ping(HELLO)];
    opcodes.push({
      id: `4.${group}.${i + 1}`,
      section: "Opcodes",
      title:
        i < 2
          ? `reserved ${kind} opcode ${op}${i % 2 === 0 ? "" : " with payload"}`
          : `text, reserved ${kind} opcode ${op}, ping`,
      send: (p) => (i === 4 ? p.send(sequence, 1) : p.send(sequence)),
      expect: fail([1002], { before: i < 2 ? [] : [txt(HELLO)] }),
    });
  });
}

export const framingCases: readonly Case[] = [...framing, ...pings, ...rsv, ...opcodes];
