// keepTickObjectShape(): without it, the map chain of node's tick objects dies in each idle
// full GC, and the stores of process.nextTick's object literal go megamorphic (a runtime call
// each, for good); with it, they stay monomorphic. Each case runs in a fresh process.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PROBE = fileURLToPath(new URL("../fixtures/tick-shape-probe.ts", import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tick-shape-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The literal's store states in a fresh process, and the number of keys of a tick object. */
async function probe(
  mode: "keep" | "server" | "client" | "none",
): Promise<{ states: string[]; keys: number }> {
  // V8's %DebugPrint writes through C stdio, which loses output on a non-blocking pipe: a file.
  const path = join(dir, `${mode}.out`);
  const file = await open(path, "w");
  try {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--allow-natives-syntax", "--expose-gc", PROBE, mode],
      { stdio: ["ignore", file.fd, "inherit"] },
    );
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  } finally {
    await file.close();
  }
  const out = await readFile(path, "utf8");
  const states = [...out.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1]);
  const keys = Number(/---KEYS (\d+)---/.exec(out)?.[1]);
  return { states: states as string[], keys };
}

const megamorphic = (states: string[]): number => states.filter((s) => s === "MEGAMORPHIC").length;

describe("keepTickObjectShape", () => {
  it.each(["keep", "server", "client"] as const)(
    "keeps process.nextTick's stores monomorphic through idle GCs (%s)",
    async (mode) => {
      const [without, kept] = await Promise.all([probe("none"), probe(mode)]);
      // The failure it prevents happens on this Node: the stores past the first go megamorphic.
      expect(without.states.length).toBeGreaterThanOrEqual(4);
      expect(megamorphic(without.states)).toBeGreaterThanOrEqual(3);
      if (kept.keys === 4) {
        // Node 20's tick object: the kept object is of its shape, and no store goes megamorphic.
        expect(kept.states).toEqual(["MONOMORPHIC", "MONOMORPHIC", "MONOMORPHIC", "MONOMORPHIC"]);
      } else {
        // A tick object with a key node keeps private (Node 24's context frame): the kept
        // object shares the maps up to it, so the stores before it stay monomorphic.
        expect(kept.states.slice(0, 3)).toEqual(["MONOMORPHIC", "MONOMORPHIC", "MONOMORPHIC"]);
        expect(megamorphic(kept.states)).toBeLessThan(megamorphic(without.states));
      }
    },
  );
});
