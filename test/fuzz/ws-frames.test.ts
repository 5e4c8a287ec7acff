// Differential fuzz run of the server's WebSocket frame layer against `ws`'s server: random
// sequences of frames (text, binary, continuations, pings, pongs, closes, reserved bits and
// opcodes, unmasked frames, compressed messages, corrupted bytes, invalid UTF-8), written whole
// or chopped into random pieces, go to both echo servers of the conformance suite; each must
// end the connection, and ours must echo the same messages and close with the same code as
// `ws` does.
//
// The number of sequences is FUZZ_WS_CASES (default 300). A run prints its fast-check seed;
// rerun it with FUZZ_SEED=<seed> and the same FUZZ_WS_CASES.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  binary,
  close,
  cont,
  deflate,
  frame,
  OP,
  ping,
  pong,
  RSV1,
  text,
} from "../conformance/frames.js";
import { Peer, upgradeRequest } from "../conformance/peer.js";
import { type EchoServer, useEchoPair } from "../conformance/servers.js";

const CASES = Number(process.env.FUZZ_WS_CASES ?? 300);
const SEED =
  process.env.FUZZ_SEED === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.FUZZ_SEED);
/**
 * How long a server has to end a connection after the client's close frame; one still open
 * then (a frame left incomplete took the close frame as its payload) gets the client's FIN,
 * after which it must end within the same time.
 */
const END_WITHIN_MS = 2000;

const servers = useEchoPair();

const payload = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom("", "é", "\u{1F600}"),
);
const invalidUtf8 = fc.constantFrom(
  Buffer.from([0xc3]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xff, 0x41]),
);

/** One piece of a sequence, given whether the session agreed permessage-deflate. */
function piece(compressed: boolean): fc.Arbitrary<Buffer> {
  const pieces: fc.Arbitrary<Buffer>[] = [
    payload.map((p) => text(typeof p === "string" ? p : Buffer.from(p).toString("latin1"))),
    payload.map((p) => binary(p)),
    fc.tuple(payload, fc.boolean()).map(([p, fin]) => text(typeof p === "string" ? p : "x", fin)),
    fc.tuple(payload, fc.boolean()).map(([p, fin]) => cont(p, fin)),
    fc.tuple(payload, fc.boolean()).map(([p, fin]) => binary(p, fin)),
    fc.uint8Array({ maxLength: 130 }).map((p) => ping(p)),
    fc.uint8Array({ maxLength: 20 }).map((p) => pong(p)),
    invalidUtf8.map((p) => text(p)),
    fc
      .constantFrom(1000, 1001, 1002, 1005, 1006, 1016, 2999, 3000, 4999, 5000)
      .map((code) => close(code, "bye")),
    fc
      .record({
        opcode: fc.integer({ min: 0, max: 15 }),
        rsv: fc.constantFrom(0, 0x10, 0x20, 0x40),
        fin: fc.boolean(),
        masked: fc.boolean(),
        payload: fc.uint8Array({ maxLength: 20 }),
      })
      .map((spec) => frame(spec)),
    // A frame with one byte flipped somewhere.
    fc.tuple(payload, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([p, at, x]) => {
      const f = Buffer.from(binary(p));
      const i = at % f.length;
      f[i] = (f[i] as number) ^ x;
      return f;
    }),
  ];
  if (compressed) {
    pieces.push(
      fc
        .string({ maxLength: 200 })
        .map((p) => frame({ opcode: OP.TEXT, rsv: RSV1, payload: deflate(p) })),
      fc
        .uint8Array({ minLength: 1, maxLength: 12 })
        .map((junk) => frame({ opcode: OP.BINARY, rsv: RSV1, payload: junk })),
    );
  }
  return fc.oneof(...pieces);
}

const sequence = fc.boolean().chain((compressed) =>
  fc.record({
    compressed: fc.constant(compressed),
    pieces: fc.array(piece(compressed), { minLength: 1, maxLength: 8 }),
    chop: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
    endWithClose: fc.boolean(),
  }),
);

interface Seen {
  status: number;
  messages: string[];
  closeCode: number | null | "none";
  ended: boolean;
}

type Sequence = typeof sequence extends fc.Arbitrary<infer T> ? T : never;

/**
 * Plays a sequence to one server. `closing` is the client's close frame, made once for both
 * servers: its random mask would otherwise differ, and a frame left incomplete reads it.
 */
async function play(server: EchoServer, c: Sequence, closing: Buffer): Promise<Seen> {
  const extra = c.compressed ? ["Sec-WebSocket-Extensions: permessage-deflate"] : [];
  const peer = await Peer.open(server.port, upgradeRequest(server.path, extra), END_WITHIN_MS);
  if (peer.outcome.status === 101) {
    await peer.send(c.endWithClose ? [...c.pieces, closing] : c.pieces, c.chop);
    // Else the server may still answer what it got (a ping...) before the close comes.
    if (!c.endWithClose) {
      await peer.waitFor(() => false, 50);
      if (!peer.outcome.ended) await peer.send(closing);
    }
    if (!(await peer.waitFor(() => peer.outcome.ended, END_WITHIN_MS))) {
      peer.end();
      await peer.waitFor(() => peer.outcome.ended, END_WITHIN_MS);
    }
  }
  peer.destroy();
  const o = peer.outcome;
  return {
    status: o.status,
    messages: o.messages.map((m) => `${m.opcode}:${m.payload.toString("hex")}`),
    closeCode: o.serverClose === null ? "none" : o.serverClose.code,
    ended: o.ended,
  };
}

describe("fuzzing the WebSocket frame layer against ws", () => {
  it(`${CASES} random frame sequences: ours ends every connection and answers as ws does`, async () => {
    console.log(`ws frame fuzz: seed ${SEED}, ${CASES} sequences`);
    await fc.assert(
      fc.asyncProperty(sequence, async (c) => {
        const closing = close(1000);
        const [mine, theirs] = await Promise.all([
          play(servers.ours, c, closing),
          play(servers.reference, c, closing),
        ]);
        expect(mine.ended).toBe(true);
        expect(mine).toEqual(theirs);
      }),
      { numRuns: CASES, seed: SEED },
    );
  }, 600_000);
});
