// Every ```ts block of README.md and docs/ compiles against the current API
// (scripts/extract-doc-snippets.ts writes them as modules; the project's tsc checks them), so the
// docs cannot drift. A failure names the Markdown file and line of the block.

import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  blocksOf,
  docLocation,
  extractDocSnippets,
  ROOT,
  SNIPPETS_DIR,
  type Snippet,
} from "../scripts/extract-doc-snippets.js";

/** tsc's diagnostics for the snippets folder (empty when everything compiles). */
function typeCheck(): Promise<string> {
  const tsc = join(ROOT, "node_modules/.bin/tsc");
  return new Promise((resolve) => {
    execFile(
      tsc,
      ["-p", join(SNIPPETS_DIR, "tsconfig.json"), "--pretty", "false"],
      { cwd: ROOT, encoding: "utf8", maxBuffer: 16 * 1024 ** 2 },
      // A failed check exits non-zero; its diagnostics are on stdout either way.
      (_err, stdout, stderr) => resolve(stdout + stderr),
    );
  });
}

const DIAGNOSTIC = /^(?:.*[\\/])?([^\\/(]+\.ts)\((\d+),\d+\): error (TS\d+): (.*)$/;

/** tsc's lines rewritten to `docs/x.md:LINE: TSnnnn message`, where they came from. */
function located(output: string, snippets: readonly Snippet[]): string[] {
  const byFile = new Map(snippets.map((s) => [s.file, s]));
  return output
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith(" "))
    .map((line) => {
      const match = DIAGNOSTIC.exec(line);
      const snippet = match === null ? undefined : byFile.get(match[1] as string);
      if (match === null || snippet === undefined) return line;
      return `${docLocation(snippet, Number(match[2]))}: ${match[3]} ${match[4]}`;
    });
}

describe("TypeScript blocks in the docs", () => {
  test("every ```ts block in README.md and docs/ compiles", async () => {
    const { snippets, optedOut } = await extractDocSnippets();
    console.info(
      `docs: ${snippets.length} TypeScript blocks type-checked, ${optedOut.length} opted out` +
        (optedOut.length > 0 ? ` (${optedOut.join(", ")})` : ""),
    );
    expect(snippets.length).toBeGreaterThan(0);
    expect(located(await typeCheck(), snippets)).toEqual([]);
  }, 60_000);

  test("a block's diagnostic points at its line in the Markdown file", () => {
    const doc = ["# Title", "", "```ts", 'import { web } from "aiohttp-ts";', "web.nope();", "```"];
    const [block] = blocksOf("docs/x.md", doc.join("\n")).snippets;
    expect(block?.line).toBe(4);
    // The module has one header line, so the block's second line is the module's third.
    expect(docLocation({ ...(block as Omit<Snippet, "file">), file: "x.ts" }, 3)).toBe(
      "docs/x.md:5",
    );
  });

  test("blocks opt out with `ts ignore` or <!-- not-checked -->; other languages are left", () => {
    const doc = [
      "```ts ignore",
      "not: typescript",
      "```",
      "<!-- not-checked -->",
      "",
      "```ts",
      "also not",
      "```",
      "````typescript",
      "const fence = '```';",
      "````",
      "```console",
      "$ npm test",
      "```",
    ];
    const { snippets, optedOut } = blocksOf("README.md", doc.join("\n"));
    expect(optedOut).toEqual(["README.md:1", "README.md:6"]);
    expect(snippets).toEqual([{ doc: "README.md", line: 10, code: "const fence = '```';" }]);
  });
});
