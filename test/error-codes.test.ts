// Every error class the package exports, loaded from the built dist/ as users import it, has its
// class name as `name` and a stable `code` of its own, so that a user can switch on `err.code`
// without importing classes. `npm test` builds dist/ first.
import * as root from "aiohttp-ts";
import * as testUtils from "aiohttp-ts/test-utils";
import * as web from "aiohttp-ts/web";
import { describe, expect, it } from "vitest";

type ErrorClass = new (...args: unknown[]) => Error & { code?: unknown };

const url = new URL("http://example.com/");
const requestInfo = {
  url,
  method: "GET",
  headers: new root.CIMultiDictProxy(new root.CIMultiDict()),
  realUrl: url,
};

/**
 * Constructor arguments, by the name of the class that declares the constructor: a subclass
 * without an entry takes its parent's, a class with none in its chain takes no arguments.
 */
const ARGS: ReadonlyMap<string, readonly unknown[]> = new Map<string, readonly unknown[]>([
  // web
  ["HTTPMove", ["/elsewhere"]],
  ["HTTPMethodNotAllowed", ["POST", ["GET"]]],
  ["HTTPRequestEntityTooLarge", [10, 20]],
  ["StateKeyError", [new web.AppKey<number>("db")]],
  ["FrozenAppError", ["frozen"]],
  ["InvalidHeaderError", ["bad header"]],
  // http
  ["MultiDictKeyError", ["missing"]],
  ["IncompleteReadError", [Buffer.from("ab"), 10]],
  ["LineTooLongError", [8]],
  ["StreamReadError", ["source failed"]],
  ["StreamClosedError", []],
  ["MultipartError", ["truncated body"]],
  ["MultipartLimitError", ["headerCount", 128, 129]],
  ["WebSocketError", [1002, "protocol error"]],
  ["WebSocketClosedError", []],
  ["WebSocketTimeoutError", ["receive", "no message in time"]],
  ["WSMessageTypeError", ["TEXT", root.WSMsgType.BINARY]],
  // client
  ["ClientOSError", ["connect failed"]],
  ["ClientConnectorError", ["example.com", 443, true, new Error("refused")]],
  [
    "ServerFingerprintMismatch",
    [new Uint8Array(32), new Uint8Array(32).fill(1), "example.com", 443],
  ],
  ["ServerDisconnectedError", []],
  ["ClientResponseError", [requestInfo, { status: 500 }]],
  ["InvalidURL", ["http://[bad"]],
]);

function argsFor(cls: Function): readonly unknown[] {
  for (let c: Function | null = cls; c !== null; c = Object.getPrototypeOf(c)) {
    const args = ARGS.get(c.name);
    if (args !== undefined) return args;
  }
  return [];
}

/** Every error class of the entry points, by its export name. */
const CLASSES: ReadonlyMap<string, ErrorClass> = new Map(
  [root, web, testUtils].flatMap((entry) =>
    Object.entries(entry).filter(
      (e): e is [string, ErrorClass] =>
        typeof e[1] === "function" && e[1].prototype instanceof Error,
    ),
  ),
);

function instantiate(name: string): Error & { code?: unknown } {
  const Cls = CLASSES.get(name) as ErrorClass;
  return new Cls(...argsFor(Cls));
}

describe("error classes of the built package", () => {
  it("are found in every layer", () => {
    for (const name of ["ClientError", "HTTPNotFound", "FrozenRouterError", "MultiDictKeyError"]) {
      expect(CLASSES.has(name), name).toBe(true);
    }
    expect(CLASSES.size).toBeGreaterThan(90);
  });

  it.each([...CLASSES.keys()])("%s has its class name as name, and a code", (name) => {
    const err = instantiate(name);
    expect(err).toBeInstanceOf(CLASSES.get(name));
    expect(err.name).toBe(name);
    expect(err.code).toMatch(/^AIOHTTP_[A-Z0-9]+(_[A-Z0-9]+)*$/);
  });

  it("have a code each: no two classes share one", () => {
    const byCode = new Map<unknown, string[]>();
    for (const name of CLASSES.keys()) {
      const code = instantiate(name).code;
      byCode.set(code, [...(byCode.get(code) ?? []), name]);
    }
    const shared = [...byCode.values()].filter((names) => names.length > 1);
    expect(shared).toEqual([]);
  });
});
