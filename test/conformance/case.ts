// A conformance case (after Autobahn's testsuite): what the client sends, and what a server
// must do in answer, with Autobahn's verdicts: OK, NON-STRICT (allowed, not the best
// behaviour), FAILED, and INFO (recorded, no right answer).
import { bytes, OP } from "./frames.js";
import type { Message, Outcome, Peer } from "./peer.js";

export type Verdict = "OK" | "NON-STRICT" | "INFO" | "FAILED";

export interface Judgement {
  verdict: Verdict;
  /** What the server did, in a few words. */
  detail: string;
}

/** When a case has seen enough, and what its outcome is worth. */
export interface Expectation {
  /** The client may stop waiting (and close, if the connection is still open). */
  done(outcome: Outcome): boolean;
  judge(outcome: Outcome): Judgement;
}

export const SECTIONS = [
  "Framing",
  "Pings and pongs",
  "Reserved bits",
  "Opcodes",
  "Fragmentation",
  "UTF-8 handling",
  "Close handling",
  "Limits and performance",
  "permessage-deflate",
  "Hostile peers",
] as const;
export type Section = (typeof SECTIONS)[number];

export interface Case {
  /** Autobahn's number where the case follows one, else the section's own numbering. */
  id: string;
  section: Section;
  title: string;
  /** Header lines added to the handshake (e.g. Sec-WebSocket-Extensions). */
  headers?: readonly string[];
  /** A handshake request of its own (replaces the default one). */
  request?: (path: string) => string | Buffer;
  /** What the client does once the connection is open. */
  send(peer: Peer): Promise<void>;
  expect: Expectation;
  /** How long to wait for `done`, ms. @default 2000 */
  timeout?: number;
}

/** An expected data message. */
export const txt = (payload: string | Uint8Array): Message => ({
  opcode: OP.TEXT,
  payload: bytes(payload),
});
export const bin = (payload: string | Uint8Array): Message => ({
  opcode: OP.BINARY,
  payload: bytes(payload),
});

const ok = (detail: string): Judgement => ({ verdict: "OK", detail });
const info = (detail: string): Judgement => ({ verdict: "INFO", detail });
const nonStrict = (detail: string): Judgement => ({ verdict: "NON-STRICT", detail });
const failed = (detail: string): Judgement => ({ verdict: "FAILED", detail });

function describe(o: Outcome): string {
  const parts = [`${o.messages.length} msg`];
  if (o.pongs.length > 0) parts.push(`${o.pongs.length} pong`);
  const c = o.serverClose;
  if (c !== null) parts.push(`close ${c.code ?? "(empty)"}${c.answered ? "" : " first"}`);
  parts.push(o.ended ? "TCP closed" : "TCP open");
  return parts.join(", ");
}

/** How far `got` matches `want`: "all", "prefix" (fewer, in order) or "no". */
function matches(got: readonly Message[], want: readonly Message[]): "all" | "prefix" | "no" {
  if (got.length > want.length) return "no";
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as Message;
    const w = want[i] as Message;
    if (g.opcode !== w.opcode || !g.payload.equals(w.payload)) return "no";
  }
  return got.length === want.length ? "all" : "prefix";
}

function samePongs(got: readonly Buffer[], want: readonly Buffer[]): boolean {
  return got.length === want.length && got.every((p, i) => p.equals(want[i] as Buffer));
}

/** Checks common to every open connection: the handshake and the server's own frames. */
function precheck(o: Outcome): Judgement | null {
  if (o.status !== 101) return failed(`handshake answered ${o.status || "nothing"}`);
  if (o.faults.length > 0) return failed(o.faults.join("; "));
  return null;
}

export interface EchoOptions {
  pongs?: readonly (string | Uint8Array)[];
  /** Close codes accepted in the answer to our close (null: an empty close frame). */
  closeCodes?: readonly (number | null)[];
}

/**
 * The server echoes `messages` (and answers pings with `pongs`); then the client closes with
 * 1000 and the server answers it and closes the TCP connection.
 */
export function echo(messages: readonly Message[], options: EchoOptions = {}): Expectation {
  const pongs = options.pongs?.map((p) => bytes(p));
  const closeCodes = options.closeCodes ?? [1000];
  return {
    done: (o) =>
      o.messages.length >= messages.length &&
      (pongs === undefined || o.pongs.length >= pongs.length),
    judge(o) {
      const pre = precheck(o);
      if (pre !== null) return pre;
      if (matches(o.messages, messages) !== "all") {
        return failed(`expected ${messages.length} echoed msg: ${describe(o)}`);
      }
      if (pongs !== undefined && !samePongs(o.pongs, pongs)) {
        return failed(`expected ${pongs.length} pong with the ping payloads: ${describe(o)}`);
      }
      const c = o.serverClose;
      if (c === null) return failed(`no close frame: ${describe(o)}`);
      if (!c.answered) return failed(`failed a valid session: ${describe(o)}`);
      if (!closeCodes.includes(c.code)) return failed(`answered our close with ${c.code}`);
      if (!o.ended) return failed(`TCP left open after the close handshake`);
      return ok(describe(o));
    },
  };
}

export interface FailOptions {
  /** Messages the server may echo before it fails (valid ones sent first). */
  before?: readonly Message[];
}

/**
 * The server fails the connection (RFC 6455 7.1.7): a close frame with one of `codes`, then
 * the TCP close (OK); a drop without a close frame is NON-STRICT; echoing fewer of the valid
 * messages sent first is NON-STRICT too (Autobahn's "fail fast").
 */
export function fail(codes: readonly number[], options: FailOptions = {}): Expectation {
  const before = options.before ?? [];
  return {
    done: (o) => o.ended || o.serverClose !== null,
    judge(o) {
      const pre = precheck(o);
      if (pre !== null) return pre;
      const echoed = matches(o.messages, before);
      if (echoed === "no") return failed(`echoed what it should refuse: ${describe(o)}`);
      const c = o.serverClose;
      if (c === null) {
        if (!o.ended) return failed(`did not fail the connection: ${describe(o)}`);
        return nonStrict(`dropped without a close frame: ${describe(o)}`);
      }
      // Our close may cross the server's failure on the wire (the client stopped waiting): a
      // failure code, which an answer to our 1000 never carries, still says what happened.
      if (c.answered && (c.code === null || !codes.includes(c.code))) {
        return failed(`did not fail the connection: ${describe(o)}`);
      }
      if (c.code === null || !codes.includes(c.code)) {
        return failed(`closed with ${c.code ?? "(empty)"}, expected ${codes.join("/")}`);
      }
      if (!o.ended) return failed(`TCP left open after the close handshake`);
      if (echoed === "prefix") return nonStrict(`failed before echoing all: ${describe(o)}`);
      return ok(describe(o));
    },
  };
}

/**
 * The client's close went out (from `send`): the server echoes `messages` sent before it,
 * answers with one of `codes` (null: an empty close frame) and closes the TCP connection.
 */
export function answersClose(
  codes: readonly (number | null)[],
  messages: readonly Message[] = [],
): Expectation {
  return {
    done: (o) => o.ended,
    judge(o) {
      const pre = precheck(o);
      if (pre !== null) return pre;
      if (matches(o.messages, messages) !== "all") {
        return failed(`expected ${messages.length} echoed msg: ${describe(o)}`);
      }
      const c = o.serverClose;
      if (c === null) return failed(`no close frame: ${describe(o)}`);
      if (!codes.includes(c.code)) {
        return failed(`answered with ${c.code ?? "(empty)"}, expected ${codes.join("/")}`);
      }
      if (!o.ended) return failed(`TCP left open after the close handshake`);
      return ok(describe(o));
    },
  };
}

/** A case that judges the outcome itself. */
export function custom(
  judge: (o: Outcome) => Judgement,
  done: (o: Outcome) => boolean = (o) => o.ended,
): Expectation {
  return { done, judge };
}

export { failed, info, nonStrict, ok };
