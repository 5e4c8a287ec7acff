// The command's pure pieces: argument values, URLs, module specs, watched paths, the progress
// line and exit codes.

import { describe, expect, it } from "vitest";
import { exitCodeForStatus, UsageError } from "../../src/cli/errors.js";
import { splitSpec } from "../../src/cli/load-app.js";
import { formatBytes, formatDuration, progressLine } from "../../src/cli/progress.js";
import { isWatched } from "../../src/cli/reload.js";
import { completeUrl } from "../../src/cli/request.js";
import { jsonFields, parseHeaders } from "../../src/cli/request-body.js";

describe("--json fields", () => {
  it("k=v is a string even when it looks like a number; k:=v is JSON", () => {
    expect(jsonFields("post", ["n=42", "m:=42", "b:=false", "z:=null", 'o:={"a":[1]}'])).toEqual({
      n: "42",
      m: 42,
      b: false,
      z: null,
      o: { a: [1] },
    });
  });

  it("keeps = signs in the value and lets a repeated key win last", () => {
    expect(jsonFields("post", ["q=a=b", "k=1", "k=2"])).toEqual({ q: "a=b", k: "2" });
  });

  it("a field without a key is a UsageError naming the command", () => {
    const err = (() => {
      try {
        jsonFields("patch", ["=v"]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ command: "patch", code: "AIOHTTP_CLI_USAGE", exitCode: 2 });
  });
});

describe("-H values", () => {
  it("split at the first colon, trimmed, order and repeats kept", () => {
    expect(parseHeaders("get", ["A: 1", "B:x:y", "A:2"])).toEqual([
      ["A", "1"],
      ["B", "x:y"],
      ["A", "2"],
    ]);
  });

  it("an empty value is allowed; a name with spaces is not", () => {
    expect(parseHeaders("get", ["X-Empty:"])).toEqual([["X-Empty", ""]]);
    expect(() => parseHeaders("get", ["Bad Name: 1"])).toThrow(UsageError);
  });
});

describe("URLs as typed", () => {
  it.each([
    ["example.com/x", "http://example.com/x"],
    [":8080/x", "http://localhost:8080/x"],
    [":3000", "http://localhost:3000"],
    ["https://example.com", "https://example.com"],
    ["ws://127.0.0.1:1/ws", "ws://127.0.0.1:1/ws"],
  ])("%s means %s", (typed, full) => {
    expect(completeUrl("get", typed)).toBe(full);
  });
});

describe("serve's <module>:<factory>", () => {
  it("splits at the last colon before an identifier", () => {
    expect(splitSpec("./app.js:createApp")).toEqual({ module: "./app.js", factory: "createApp" });
    expect(splitSpec("/srv/a:b/app.ts:make")).toEqual({
      module: "/srv/a:b/app.ts",
      factory: "make",
    });
  });

  it("without a factory uses the default export", () => {
    expect(splitSpec("app.js")).toEqual({ module: "app.js", factory: "default" });
  });

  it("a trailing colon is a UsageError", () => {
    expect(() => splitSpec("app.js:")).toThrow(UsageError);
  });
});

describe("--reload's watched files", () => {
  it.each([
    ["app.ts", true],
    ["lib/routes.js", true],
    ["config.json", true],
    ["node_modules/x/index.js", false],
    ["dist/app.js", false],
    [".git/index", false],
    ["src/.cache/a.js", false],
    ["data/chat.sqlite", false],
    ["server.log", false],
  ])("%s: %s", (path, watched) => {
    expect(isWatched(path)).toBe(watched);
  });
});

describe("the progress line", () => {
  it("with a total: bar, percentage, bytes, rate and ETA", () => {
    expect(progressLine({ transferred: 500_000, total: 2_000_000 }, 2)).toBe(
      "[######------------------]  25%  500.0 kB / 2.0 MB  250.0 kB/s  ETA 0:06",
    );
  });

  it("without a total: bytes and rate only", () => {
    expect(progressLine({ transferred: 1500, total: null }, 1)).toBe("1.5 kB  1.5 kB/s");
  });

  it("formats sizes and durations", () => {
    expect([formatBytes(999), formatBytes(1000), formatBytes(12_345_678)]).toEqual([
      "999 B",
      "1.0 kB",
      "12.3 MB",
    ]);
    expect([formatDuration(5), formatDuration(125), formatDuration(3725)]).toEqual([
      "0:05",
      "2:05",
      "1:02:05",
    ]);
  });
});

describe("exit codes by status class", () => {
  it.each([
    [101, 0],
    [204, 0],
    [304, 3],
    [418, 4],
    [503, 5],
  ])("%i exits %i", (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
  });
});
