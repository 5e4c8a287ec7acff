// Tests of the multidicts: order and repeated keys kept, case-insensitive header names, the
// read-only proxies and the mutations of MultiDict / CIMultiDict.
import { describe, expect, it } from "vitest";
import {
  CIMultiDict,
  CIMultiDictProxy,
  MultiDict,
  MultiDictKeyError,
  MultiDictProxy,
} from "../../src/index.js";

describe("MultiDictProxy", () => {
  const build = () =>
    new MultiDictProxy([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);

  it("get returns the first value of a repeated key", () => {
    expect(build().get("a")).toBe("1");
  });

  it("get returns undefined, or the fallback, for a missing key", () => {
    const d = build();
    expect(d.get("zzz")).toBeUndefined();
    expect(d.get("zzz", "dflt")).toBe("dflt");
  });

  it("getAll returns every value of a key in order, and [] when missing", () => {
    const d = build();
    expect(d.getAll("a")).toEqual(["1", "3"]);
    expect(d.getAll("zzz")).toEqual([]);
  });

  it("getOne returns the first value and throws MultiDictKeyError when missing", () => {
    const d = build();
    expect(d.getOne("b")).toBe("2");
    expect(() => d.getOne("zzz")).toThrow(MultiDictKeyError);
    try {
      d.getOne("zzz");
    } catch (err) {
      expect((err as MultiDictKeyError).key).toBe("zzz");
      expect((err as MultiDictKeyError).code).toBe("AIOHTTP_MULTIDICT_KEY_MISSING");
      expect((err as Error).message).toContain("zzz");
    }
  });

  it("has tells whether a key is present", () => {
    const d = build();
    expect(d.has("a")).toBe(true);
    expect(d.has("A")).toBe(false);
    expect(d.has("zzz")).toBe(false);
  });

  it("keys, values and entries keep insertion order and repeats", () => {
    const d = build();
    expect([...d.keys()]).toEqual(["a", "b", "a"]);
    expect([...d.values()]).toEqual(["1", "2", "3"]);
    expect([...d.entries()]).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
  });

  it("iterates over [key, value] pairs", () => {
    const seen: string[] = [];
    for (const [k, v] of build()) seen.push(`${k}=${v}`);
    expect(seen).toEqual(["a=1", "b=2", "a=3"]);
  });

  it("size counts every pair, repeated keys included", () => {
    expect(build().size).toBe(3);
    expect(new MultiDictProxy().size).toBe(0);
  });

  it("is built from a record whose array values become repeated keys", () => {
    const d = new MultiDictProxy({ x: ["1", "2"], y: "3" });
    expect([...d]).toEqual([
      ["x", "1"],
      ["x", "2"],
      ["y", "3"],
    ]);
  });

  it("is built from URLSearchParams, keeping repeated keys", () => {
    const d = new MultiDictProxy(new URLSearchParams("k=1&k=2&j=%20x"));
    expect(d.getAll("k")).toEqual(["1", "2"]);
    expect(d.get("j")).toBe(" x");
  });

  it("a proxy built from a MultiDict is a snapshot", () => {
    const md = new MultiDict([["a", "1"]]);
    const proxy = new MultiDictProxy(md);
    md.add("a", "2");
    expect(proxy.getAll("a")).toEqual(["1"]);
  });

  it("has no mutating methods", () => {
    const d = build() as unknown as Record<string, unknown>;
    expect(d.set).toBeUndefined();
    expect(d.add).toBeUndefined();
    expect(d.delete).toBeUndefined();
    expect(d.clear).toBeUndefined();
  });

  it("copy gives an independent mutable MultiDict", () => {
    const d = build();
    const c = d.copy();
    expect(c).toBeInstanceOf(MultiDict);
    c.add("c", "4");
    expect(d.has("c")).toBe(false);
    expect(c.getAll("a")).toEqual(["1", "3"]);
  });

  it("toObject keeps the first value of each key", () => {
    expect(build().toObject()).toEqual({ a: "1", b: "2" });
  });

  it("toObject keeps a '__proto__' key as a plain own key", () => {
    const obj = new MultiDictProxy([["__proto__", "x"]]).toObject();
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.hasOwn(obj, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(obj, "__proto__")?.value).toBe("x");
  });

  it("fromFlat pairs up a flat [k, v, k, v] array", () => {
    const d = MultiDictProxy.fromFlat(["a", "1", "b", "2", "a", "3"]);
    expect(d.getAll("a")).toEqual(["1", "3"]);
    expect(d.get("b")).toBe("2");
  });
});

describe("MultiDict", () => {
  it("add appends and keeps earlier values", () => {
    const d = new MultiDict<string>();
    d.add("k", "1").add("k", "2");
    expect(d.getAll("k")).toEqual(["1", "2"]);
  });

  it("set replaces every value of a key at the first occurrence's place", () => {
    const d = new MultiDict([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
    d.set("a", "x");
    expect([...d]).toEqual([
      ["a", "x"],
      ["b", "2"],
    ]);
  });

  it("set adds a missing key at the end", () => {
    const d = new MultiDict([["a", "1"]]);
    d.set("b", "2");
    expect([...d.keys()]).toEqual(["a", "b"]);
  });

  it("delete removes every value of a key and reports whether there was one", () => {
    const d = new MultiDict([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
    expect(d.delete("a")).toBe(true);
    expect(d.delete("a")).toBe(false);
    expect([...d]).toEqual([["b", "2"]]);
  });

  it("extend appends every pair of the argument", () => {
    const d = new MultiDict([["a", "1"]]);
    d.extend([
      ["a", "2"],
      ["b", "3"],
    ]);
    d.extend({ c: "4" });
    expect([...d]).toEqual([
      ["a", "1"],
      ["a", "2"],
      ["b", "3"],
      ["c", "4"],
    ]);
  });

  it("update replaces the keys given and keeps the others", () => {
    const d = new MultiDict([
      ["a", "1"],
      ["a", "2"],
      ["b", "3"],
    ]);
    d.update({ a: "9" });
    expect(d.getAll("a")).toEqual(["9"]);
    expect(d.get("b")).toBe("3");
  });

  it("clear removes every pair", () => {
    const d = new MultiDict({ a: "1", b: "2" });
    d.clear();
    expect(d.size).toBe(0);
    expect([...d]).toEqual([]);
  });

  it("setDefault returns the present value or adds the given one", () => {
    const d = new MultiDict([["a", "1"]]);
    expect(d.setDefault("a", "x")).toBe("1");
    expect(d.setDefault("b", "y")).toBe("y");
    expect(d.get("b")).toBe("y");
  });

  it("popOne removes only the first value", () => {
    const d = new MultiDict([
      ["a", "1"],
      ["a", "2"],
    ]);
    expect(d.popOne("a")).toBe("1");
    expect(d.getAll("a")).toEqual(["2"]);
    expect(d.popOne("missing")).toBeUndefined();
  });

  it("keys are case-sensitive", () => {
    const d = new MultiDict([["Key", "1"]]);
    expect(d.get("key")).toBeUndefined();
    expect(d.get("Key")).toBe("1");
  });

  it("copy is independent of the original", () => {
    const d = new MultiDict([["a", "1"]]);
    const c = d.copy();
    c.set("a", "2");
    expect(d.get("a")).toBe("1");
  });
});

describe("CIMultiDict and CIMultiDictProxy", () => {
  it("look keys up case-insensitively and keep the spelling given", () => {
    const d = new CIMultiDict([
      ["Content-Type", "text/plain"],
      ["X-Thing", "1"],
      ["x-thing", "2"],
    ]);
    expect(d.get("content-type")).toBe("text/plain");
    expect(d.getAll("X-THING")).toEqual(["1", "2"]);
    expect(d.has("CONTENT-TYPE")).toBe(true);
    expect([...d.keys()]).toEqual(["Content-Type", "X-Thing", "x-thing"]);
  });

  it("set and delete match keys in any case", () => {
    const d = new CIMultiDict([
      ["Accept", "a"],
      ["accept", "b"],
    ]);
    d.set("ACCEPT", "c");
    expect([...d]).toEqual([["Accept", "c"]]);
    expect(d.delete("aCcEpT")).toBe(true);
    expect(d.size).toBe(0);
  });

  it("update replaces keys case-insensitively", () => {
    const d = new CIMultiDict([["X-A", "1"]]);
    d.update([["x-a", "2"]]);
    expect(d.getAll("X-A")).toEqual(["2"]);
  });

  it("copy of a case-insensitive proxy stays case-insensitive", () => {
    const proxy = CIMultiDictProxy.fromFlat(["Host", "h"]);
    const c = proxy.copy();
    expect(c).toBeInstanceOf(CIMultiDict);
    expect(c.get("HOST")).toBe("h");
  });

  it("fromFlat builds a case-insensitive proxy from Node's rawHeaders layout", () => {
    const proxy = CIMultiDictProxy.fromFlat(["Set-Cookie", "a=1", "set-cookie", "b=2"]);
    expect(proxy).toBeInstanceOf(CIMultiDictProxy);
    expect(proxy.getAll("SET-COOKIE")).toEqual(["a=1", "b=2"]);
  });

  it("a case-sensitive MultiDict does not match other cases", () => {
    const d = new MultiDict([["Host", "h"]]);
    expect(d.has("host")).toBe(false);
  });
});
