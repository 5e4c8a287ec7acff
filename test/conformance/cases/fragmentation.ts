// Autobahn 5: fragmented messages, control frames between fragments, fragmented control
// frames, continuations without a message (RFC 6455 5.4).
import { bin, type Case, echo, fail, txt } from "../case.js";
import { cont, fragmented, frame, OP, ping, text } from "../frames.js";
import type { Peer } from "../peer.js";

const section = "Fragmentation" as const;
const F1 = "fragment1";
const F2 = "fragment2";

/** How the frames of a case are written: all at once, each on its own, or byte by byte. */
type Mode = "one write" | "frame per write" | "byte per write";
const MODES: readonly Mode[] = ["one write", "frame per write", "byte per write"];
function sender(frames: Buffer[], mode: Mode) {
  return (p: Peer): Promise<void> => {
    if (mode === "one write") return p.send(frames);
    if (mode === "frame per write") return p.sendEach(frames);
    return p.send(frames, 1);
  };
}

export const fragmentationCases: readonly Case[] = [
  {
    id: "5.1",
    section,
    title: "ping in 2 fragments",
    send: (p) => p.send([frame({ opcode: OP.PING, payload: F1, fin: false }), cont(F2)]),
    expect: fail([1002]),
  },
  {
    id: "5.2",
    section,
    title: "pong in 2 fragments",
    send: (p) => p.send([frame({ opcode: OP.PONG, payload: F1, fin: false }), cont(F2)]),
    expect: fail([1002]),
  },
  ...MODES.map(
    (mode, i): Case => ({
      id: `5.${3 + i}`,
      section,
      title: `text in 2 fragments, ${mode}`,
      send: sender([text(F1, false), cont(F2)], mode),
      expect: echo([txt(F1 + F2)]),
    }),
  ),
  ...MODES.map(
    (mode, i): Case => ({
      id: `5.${6 + i}`,
      section,
      title: `text in 2 fragments with a ping between them, ${mode}`,
      send: sender([text(F1, false), ping("pongme!"), cont(F2)], mode),
      expect: echo([txt(F1 + F2)], { pongs: ["pongme!"] }),
    }),
  ),
  ...MODES.map(
    (mode, i): Case => ({
      id: `5.${9 + i}`,
      section,
      title: `continuation (fin) without a message, then text, ${mode}`,
      send: sender([cont("non-continuation payload"), text("Hello, world!")], mode),
      expect: fail([1002]),
    }),
  ),
  ...MODES.map(
    (mode, i): Case => ({
      id: `5.${12 + i}`,
      section,
      title: `continuation (not fin) without a message, then text, ${mode}`,
      send: sender([cont("non-continuation payload", false), text("Hello, world!")], mode),
      expect: fail([1002]),
    }),
  ),
  {
    id: "5.15",
    section,
    title: "text in 2 fragments, then a continuation (not fin) and a text frame",
    send: (p) => p.send([text(F1, false), cont(F2), cont("fragment3", false), text("fragment4")]),
    expect: fail([1002], { before: [txt(F1 + F2)] }),
  },
  {
    id: "5.16",
    section,
    title: "continuation, then text in 2 fragments, twice",
    send: (p) =>
      p.send([
        cont("fragment1", false),
        text("fragment2", false),
        cont("fragment3"),
        cont("fragment1", false),
        text("fragment2", false),
        cont("fragment3"),
      ]),
    expect: fail([1002]),
  },
  {
    id: "5.17",
    section,
    title: "continuation (fin), then text in 2 fragments, twice",
    send: (p) =>
      p.send([
        cont("fragment1"),
        text("fragment2", false),
        cont("fragment3"),
        cont("fragment1"),
        text("fragment2", false),
        cont("fragment3"),
      ]),
    expect: fail([1002]),
  },
  {
    id: "5.18",
    section,
    title: "text (not fin), then a new text frame instead of a continuation",
    send: (p) => p.send([text(F1, false), text(F2)]),
    expect: fail([1002]),
  },
  ...["frame per write", "byte per write"].map(
    (mode, i): Case => ({
      id: `5.${19 + i}`,
      section,
      title: `text in 5 fragments with pings after the 2nd and 4th, ${mode}`,
      send: sender(
        [
          text("fragment1", false),
          cont("fragment2", false),
          ping("pongme 1!"),
          cont("fragment3", false),
          cont("fragment4", false),
          ping("pongme 2!"),
          cont("fragment5"),
        ],
        mode as Mode,
      ),
      expect: echo([txt("fragment1fragment2fragment3fragment4fragment5")], {
        pongs: ["pongme 1!", "pongme 2!"],
      }),
    }),
  ),
  {
    id: "5.21",
    section,
    title: "binary in 1-byte fragments (256 frames)",
    send: (p) => p.send(fragmented(OP.BINARY, Buffer.alloc(256, 0x2a), 1)),
    expect: echo([bin(Buffer.alloc(256, 0x2a))]),
  },
  {
    id: "5.22",
    section,
    title: "text made of empty fragments around one non-empty one",
    send: (p) => p.send([text("", false), cont("", false), cont("middle", false), cont("")]),
    expect: echo([txt("middle")]),
  },
  {
    id: "5.23",
    section,
    title: "text in 2 fragments with a binary frame between them",
    send: (p) => p.send([text(F1, false), frame({ opcode: OP.BINARY, payload: F2 }), cont(F2)]),
    expect: fail([1002]),
  },
  {
    id: "5.24",
    section,
    title: "close in 2 fragments",
    send: (p) =>
      p.send([frame({ opcode: OP.CLOSE, payload: Buffer.from([3, 232]), fin: false }), cont("")]),
    expect: fail([1002]),
  },
  {
    id: "5.25",
    section,
    title: "two fragmented messages back to back, the second binary",
    send: (p) =>
      p.send([
        text(F1, false),
        cont(F2),
        frame({ opcode: OP.BINARY, payload: F1, fin: false }),
        cont(F2),
      ]),
    expect: echo([txt(F1 + F2), bin(F1 + F2)]),
  },
];
