// The machinery of the hostile-request corpus: a case is raw request bytes with the one answer
// they must get and whether the connection must close after it. Every request is followed on
// the same connection by a pipelined canary; after a request that cannot be trusted the canary
// must be neither answered nor handled (a smuggled request), after a good one it must be
// answered (the connection stayed in sync).

import { expect } from "vitest";
import { web } from "../../src/index.js";
import { quiet, rawExchange, useAppForAll } from "../helpers.js";

/** One hostile (or, as a control, well-formed) request. */
export interface HostileCase {
  /** What the request tries. */
  name: string;
  /** The bytes sent, as latin1 text (one character per byte). */
  request: string;
  /** The status of the one answer it gets. */
  status: number;
  /** Whether the server must close the connection after answering (it cannot be trusted). */
  closes: boolean;
}

/** A table row: `[name, request, status, closes]`, the way the case files write them. */
export type CaseRow = readonly [string, string, number, boolean];

export function cases(rows: ReadonlyArray<CaseRow>): HostileCase[] {
  return rows.map(([name, request, status, closes]) => ({ name, request, status, closes }));
}

const CANARY_PATH = "/canary-after-the-case";
const CANARY = `GET ${CANARY_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
const STATUS_LINE = /HTTP\/1\.[01] (\d{3}) /g;

/** Paths the corpus application handled, in order; cleared by each `expectCase`. */
const handled: string[] = [];

/**
 * The corpus application on a shared server for the file's tests: any method and path, the
 * body read whole, answered as `METHOD path length`. `extend` adds routes before the catch-all.
 */
export function useCorpusServer(
  options: web.ApplicationOptions = {},
  extend?: (app: web.Application) => void,
): () => number {
  return useAppForAll(() => {
    const app = new web.Application({ logger: quiet, ...options });
    extend?.(app);
    app.router.addRoute("*", "/{tail:.*}", async (req) => {
      handled.push(req.path);
      const body = await req.read();
      return new web.Response({ text: `${req.method} ${req.path} ${body.length}` });
    });
    return app;
  });
}

/**
 * Sends the case, then the canary, and asserts the answer and what happened to the canary;
 * returns everything received.
 */
export async function expectCase(port: number, c: HostileCase): Promise<string> {
  handled.length = 0;
  const reply = await rawExchange(port, Buffer.from(c.request + CANARY, "latin1"), {
    requireClose: true,
  });
  const statuses = statusesIn(reply.raw);
  if (c.closes) {
    // One answer, then the end: the canary is never answered nor handled.
    expect(statuses, reply.raw).toEqual([c.status]);
    expect(reply.raw).not.toContain(CANARY_PATH);
    expect(handled).not.toContain(CANARY_PATH);
  } else {
    expect(statuses, reply.raw).toEqual([c.status, 200]);
    expect(reply.raw.endsWith(`GET ${CANARY_PATH} 0`)).toBe(true);
  }
  return reply.raw;
}

/** The status of every answer in `raw`, in order. */
export function statusesIn(raw: string): number[] {
  return [...raw.matchAll(STATUS_LINE)].map((m) => Number(m[1]));
}
