// The testing recipes of docs/testing.md run as they stand: examples/testing/vitest.test.ts is
// part of this suite (vitest.config.ts includes it); the node:test recipe runs here as a user
// runs it, `node --import tsx --test`, in a child process, and must pass every test.

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

describe("examples/testing", () => {
  it("the node:test recipe passes under `node --import tsx --test`", async () => {
    const { stdout } = await run(
      process.execPath,
      // TAP named: Node 20 picks it for a pipe, Node 23 and later the spec reporter.
      ["--import", "tsx", "--test", "--test-reporter=tap", "examples/testing/node-test.test.ts"],
      { cwd: ROOT, timeout: 60_000 },
    );
    // TAP summary lines: a run that found no tests would pass with "# tests 0".
    expect(stdout).toMatch(/^# tests 5$/m);
    expect(stdout).toMatch(/^# pass 5$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  });
});
