// Autobahn 9, bounded: large messages up to the server's limit, fragmented ones, and many small
// ones, each within a time bound (the case's timeout) on a busy machine.

import { DEFAULT_MAX_MSG_SIZE } from "../../../src/http/websocket.js";
import { bin, type Case, echo, txt } from "../case.js";
import { binary, fragmented, OP, text } from "../frames.js";

const section = "Limits and performance" as const;
const KIB = 1024;
const MIB = 1024 * KIB;

const cases: Case[] = [];
[64 * KIB, 256 * KIB, MIB, DEFAULT_MAX_MSG_SIZE].forEach((n, i) => {
  const t = "x".repeat(n);
  const b = Buffer.alloc(n, 0xfe);
  cases.push(
    {
      id: `9.1.${i + 1}`,
      section,
      title: `text message of ${n / KIB} KiB${n === DEFAULT_MAX_MSG_SIZE ? " (the limit)" : ""}`,
      send: (p) => p.send(text(t)),
      expect: echo([txt(t)]),
      timeout: 10_000,
    },
    {
      id: `9.2.${i + 1}`,
      section,
      title: `binary message of ${n / KIB} KiB${n === DEFAULT_MAX_MSG_SIZE ? " (the limit)" : ""}`,
      send: (p) => p.send(binary(b)),
      expect: echo([bin(b)]),
      timeout: 10_000,
    },
  );
});

[64 * KIB, 4 * KIB, 256].forEach((size, i) => {
  const t = "y".repeat(MIB);
  cases.push({
    id: `9.3.${i + 1}`,
    section,
    title: `1 MiB text in fragments of ${size} bytes`,
    send: (p) => p.send(fragmented(OP.TEXT, t, size)),
    expect: echo([txt(t)]),
    timeout: 10_000,
  });
});

const SMALL = Array.from({ length: 1000 }, (_, i) => `message ${i}`);
cases.push(
  {
    id: "9.4.1",
    section,
    title: "1000 small text messages in one write: all echoed, in order",
    send: (p) => p.send(SMALL.map((m) => text(m))),
    expect: echo(SMALL.map((m) => txt(m))),
    timeout: 10_000,
  },
  {
    id: "9.4.2",
    section,
    title: "200 round trips of a small binary message",
    async send(p) {
      for (let i = 0; i < 200; i++) {
        await p.send(binary(Buffer.from(SMALL[i] as string)));
        if (!(await p.waitFor(() => p.outcome.messages.length > i, 2000))) return;
      }
    },
    expect: echo(SMALL.slice(0, 200).map((m) => bin(m))),
    timeout: 10_000,
  },
);

export const limitCases: readonly Case[] = cases;
