// Autobahn 7: the closing handshake (RFC 6455 5.5.1, 7.1-7.4): close payloads, close codes,
// and frames around the close.
import { answersClose, type Case, fail, txt } from "../case.js";
import { closePayload, cont, frame, OP, ping, text } from "../frames.js";

const section = "Close handling" as const;
const closeFrame = (payload: Buffer): Buffer => frame({ opcode: OP.CLOSE, payload });

const cases: Case[] = [
  {
    id: "7.1.1",
    section,
    title: "text message, then close, in one write: the echo goes out before the close answer",
    send: (p) => p.send([text("Hello World!"), closeFrame(closePayload(1000))]),
    expect: answersClose([1000], [txt("Hello World!")]),
  },
  {
    id: "7.1.2",
    section,
    title: "two close frames: one answer",
    send: (p) => p.send([closeFrame(closePayload(1000)), closeFrame(closePayload(1000))]),
    expect: answersClose([1000]),
  },
  {
    id: "7.1.3",
    section,
    title: "close, then ping: no pong after the close",
    send: (p) => p.send([closeFrame(closePayload(1000)), ping("Hello World!")]),
    expect: answersClose([1000]),
  },
  {
    id: "7.1.4",
    section,
    title: "close, then text: data after the close is dropped",
    send: (p) => p.send([closeFrame(closePayload(1000)), text("Hello World!")]),
    expect: answersClose([1000]),
  },
  {
    id: "7.1.5",
    section,
    title: "first fragment, close, last fragment: no message",
    send: (p) =>
      p.send([text("fragment1", false), closeFrame(closePayload(1000)), cont("fragment2")]),
    expect: answersClose([1000]),
  },
  {
    id: "7.3.1",
    section,
    title: "close without payload: answered with an empty close or 1000",
    send: (p) => p.send(closeFrame(Buffer.alloc(0))),
    expect: answersClose([null, 1000]),
  },
  {
    id: "7.3.2",
    section,
    title: "close with a 1-byte payload",
    send: (p) => p.send(closeFrame(Buffer.from([0x03]))),
    expect: fail([1002]),
  },
  {
    id: "7.3.3",
    section,
    title: "close with a code and no reason",
    send: (p) => p.send(closeFrame(closePayload(1000))),
    expect: answersClose([1000]),
  },
  {
    id: "7.3.4",
    section,
    title: "close with a code and a reason",
    send: (p) => p.send(closeFrame(closePayload(1000, "Hello World!"))),
    expect: answersClose([1000]),
  },
  {
    id: "7.3.5",
    section,
    title: "close with a 123-byte reason (the largest that fits)",
    send: (p) => p.send(closeFrame(closePayload(1000, "*".repeat(123)))),
    expect: answersClose([1000]),
  },
  {
    id: "7.3.6",
    section,
    title: "close with a 124-byte reason (a 126-byte control frame)",
    send: (p) => p.send(closeFrame(closePayload(1000, "*".repeat(124)))),
    expect: fail([1002]),
  },
  {
    id: "7.5.1",
    section,
    title: "close with a reason of invalid UTF-8",
    send: (p) =>
      p.send(
        closeFrame(
          closePayload(1000, Buffer.from("cebae1bdb9cf83cebcceb5eda080656469746564", "hex")),
        ),
      ),
    expect: fail([1007]),
  },
];

// RFC 6455 7.4.1 and the IANA registry: codes a peer may send (1012-1014 registered since).
const VALID = [
  1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
];
VALID.forEach((code, i) => {
  cases.push({
    id: `7.7.${i + 1}`,
    section,
    title: `close with valid code ${code}`,
    send: (p) => p.send(closeFrame(closePayload(code))),
    expect: answersClose([code, 1000]),
  });
});

// 7.4.1-7.4.2: reserved, never-sent (1004-1006, 1015) or unassigned codes.
const INVALID = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
INVALID.forEach((code, i) => {
  cases.push({
    id: `7.9.${i + 1}`,
    section,
    title: `close with invalid code ${code}`,
    send: (p) => p.send(closeFrame(closePayload(code))),
    expect: fail([1002]),
  });
});

export const closeCases: readonly Case[] = cases;
