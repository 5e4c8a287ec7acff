// The conformance cases (see REPORT.md) in the default suite: ours must pass every case but the
// deliberate differences, so every case `ws` passes too. `npm run conformance` writes the report.
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { SECTIONS } from "./case.js";
import { CASES } from "./cases/index.js";
import { runCase } from "./run.js";
import { startOurs } from "./servers.js";
import {
  DELIBERATE,
  OURS,
  REFERENCE,
  runSuite,
  type SuiteResult,
  shortfalls,
  verdictOf,
} from "./suite.js";

// Filled section by section: each section runs in its own hook, against both servers.
const suite: SuiteResult = {
  cases: CASES,
  results: new Map([
    [OURS, new Map()],
    [REFERENCE, new Map()],
  ]),
  ms: 0,
};

// The sections fill the results the last two tests judge: their order stands even when the
// run shuffles tests (--sequence.shuffle).
describe("the cases, then the whole suite", { shuffle: false }, () => {
  describe.each(SECTIONS)("%s", (section) => {
    const cases = CASES.filter((c) => c.section === section);
    beforeAll(async () => {
      const part = await runSuite(cases, [OURS, REFERENCE]);
      for (const [server, results] of part.results) {
        for (const [id, result] of results) suite.results.get(server)?.set(id, result);
      }
    });

    const judged = cases.filter((c) => !Object.hasOwn(DELIBERATE, c.id));
    it.each(judged.map((c) => [`${c.id} ${c.title}`, c.id] as const))("ours passes %s", (_, id) => {
      const ours = verdictOf(suite, OURS, id);
      const reference = verdictOf(suite, REFERENCE, id);
      expect(
        ours.verdict,
        `ours: ${ours.detail}; ws: ${reference.verdict} ${reference.detail}`,
      ).not.toBe("FAILED");
    });
  });

  // After the sections above, with every result in.
  it("ours passes every case the ws reference passes, but the deliberate ones", () => {
    expect(shortfalls(suite).map((c) => c.id)).toEqual([]);
  });

  it("7.1.1: a message and a close in one packet: the echo goes out before the close's answer", async () => {
    const c = CASES.find((x) => x.id === "7.1.1");
    if (c === undefined) throw new Error("no case 7.1.1");
    expect(verdictOf(suite, OURS, "7.1.1").verdict).toBe("OK");
    expect(verdictOf(suite, REFERENCE, "7.1.1").verdict).toBe("OK");
    const server = await startOurs("autoclose: false", { autoclose: false });
    try {
      expect((await runCase(c, server)).verdict).toBe("OK");
    } finally {
      await server.stop();
    }
  });
});

it("the committed REPORT.md has a row for every case", async () => {
  const report = await readFile(new URL("./REPORT.md", import.meta.url), "utf8");
  const rows = new Set(report.split("\n").map((line) => /^\| ([\w.]+) +\|/.exec(line)?.[1]));
  const missing = CASES.filter((c) => !rows.has(c.id)).map((c) => c.id);
  expect(missing, "run `npm run conformance` to write the report again").toEqual([]);
});
