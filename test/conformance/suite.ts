// The whole conformance run: every case against ours, the `ws` reference, and ours with
// `autoclose: false` (for the close-handling comparison), and how ours compares.
import type { Case, Verdict } from "./case.js";
import { CASES } from "./cases/index.js";
import { type CaseResult, runCases } from "./run.js";
import { type EchoServer, startOurs, startWs } from "./servers.js";

export const OURS = "aiohttp-ts";
export const REFERENCE = "ws";
export const OURS_NO_AUTOCLOSE = "aiohttp-ts, autoclose: false";

/**
 * Where ours fails a case `ws` passes on purpose; each reason says why the RFC allows it.
 * The vitest run fails on any other such case.
 */
export const DELIBERATE: Readonly<Record<string, string>> = {};

export interface SuiteResult {
  cases: readonly Case[];
  /** Server name → case id → result. */
  results: Map<string, Map<string, CaseResult>>;
  ms: number;
}

/** The servers of a full run, by name. */
export const SERVERS: Readonly<Record<string, () => Promise<EchoServer>>> = {
  [OURS]: () => startOurs(OURS),
  [REFERENCE]: startWs,
  [OURS_NO_AUTOCLOSE]: () => startOurs(OURS_NO_AUTOCLOSE, { autoclose: false }),
};

/** Runs every case against each server in turn (all three by default). */
export async function runSuite(
  cases: readonly Case[] = CASES,
  servers: readonly string[] = Object.keys(SERVERS),
): Promise<SuiteResult> {
  const started = performance.now();
  const results = new Map<string, Map<string, CaseResult>>();
  for (const name of servers) {
    const start = SERVERS[name];
    if (start === undefined) throw new Error(`unknown server ${name}`);
    const server = await start();
    try {
      results.set(server.name, await runCases(cases, server));
    } finally {
      await server.stop();
    }
  }
  return { cases, results, ms: Math.round(performance.now() - started) };
}

/** A verdict of one server for one case. */
export function verdictOf(suite: SuiteResult, server: string, id: string): CaseResult {
  const result = suite.results.get(server)?.get(id);
  if (result === undefined) throw new Error(`no result of ${server} for case ${id}`);
  return result;
}

const passes = (v: Verdict): boolean => v !== "FAILED";

/** Cases ours fails while `ws` passes, besides the deliberate ones: each one is a bug. */
export function shortfalls(suite: SuiteResult): Case[] {
  return suite.cases.filter((c) => {
    if (Object.hasOwn(DELIBERATE, c.id)) return false;
    const ours = verdictOf(suite, OURS, c.id).verdict;
    const reference = verdictOf(suite, REFERENCE, c.id).verdict;
    return !passes(ours) && passes(reference);
  });
}

/** Cases ours passes only NON-STRICT where `ws` is OK. */
export function weaker(suite: SuiteResult): Case[] {
  return suite.cases.filter(
    (c) =>
      verdictOf(suite, OURS, c.id).verdict === "NON-STRICT" &&
      verdictOf(suite, REFERENCE, c.id).verdict === "OK",
  );
}
