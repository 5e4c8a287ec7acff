// The command as npm installs it: package.json's `bin` names the built entry, which starts with
// a shebang so that the link npm makes runs it with node.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MAIN, ROOT, runCli } from "./cli-process.js";

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as {
  version: string;
  bin: Record<string, string>;
};

describe("the aiohttp-ts bin", () => {
  it("points at the built dist/cli/main.js, which starts with a node shebang", () => {
    expect(`${ROOT}${pkg.bin["aiohttp-ts"]?.replace(/^\.\//, "")}`).toBe(MAIN);
    expect(readFileSync(MAIN, "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
  });

  it("--version prints the package version", async () => {
    const { code, stdout } = await runCli(["--version"]);
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
  });
});
