// Model-based properties of the multidicts: random sequences of mutations applied both to a
// MultiDict / CIMultiDict and to a plain array of pairs with the documented semantics
// (docs/multidict.md) leave the two with the same pairs and the same answers to every read.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CIMultiDict,
  CIMultiDictProxy,
  MultiDict,
  MultiDictKeyError,
  MultiDictProxy,
} from "../../src/index.js";

type Pair = [string, string];

/** The reference: an array of pairs and a key comparison. */
class Model {
  pairs: Pair[] = [];
  constructor(readonly ci: boolean) {}

  same(a: string, b: string): boolean {
    return this.ci ? a.toLowerCase() === b.toLowerCase() : a === b;
  }

  add(k: string, v: string): void {
    this.pairs.push([k, v]);
  }

  set(k: string, v: string): void {
    const first = this.pairs.findIndex(([name]) => this.same(name, k));
    if (first === -1) {
      this.add(k, v);
      return;
    }
    const kept = this.pairs[first]?.[0] ?? k;
    this.pairs = this.pairs.flatMap((pair, i): Pair[] => {
      if (i === first) return [[kept, v]];
      return this.same(pair[0], k) ? [] : [pair];
    });
  }

  setDefault(k: string, v: string): string {
    const found = this.pairs.find(([name]) => this.same(name, k));
    if (found !== undefined) return found[1];
    this.add(k, v);
    return v;
  }

  delete(k: string): boolean {
    const before = this.pairs.length;
    this.pairs = this.pairs.filter(([name]) => !this.same(name, k));
    return this.pairs.length !== before;
  }

  popOne(k: string): string | undefined {
    const i = this.pairs.findIndex(([name]) => this.same(name, k));
    if (i === -1) return undefined;
    return this.pairs.splice(i, 1)[0]?.[1];
  }

  /** Every value of `k`, removed (aiohttp's `popall`, which we spell getAll + delete). */
  popAll(k: string): string[] {
    const values = this.getAll(k);
    this.delete(k);
    return values;
  }

  extend(pairs: Pair[]): void {
    this.pairs.push(...pairs);
  }

  update(pairs: Pair[]): void {
    for (const [k] of pairs) this.delete(k);
    this.extend(pairs);
  }

  getAll(k: string): string[] {
    return this.pairs.filter(([name]) => this.same(name, k)).map(([, v]) => v);
  }
}

type Op =
  | { op: "add" | "set" | "setDefault"; key: string; value: string }
  | { op: "delete" | "popOne" | "popAll"; key: string }
  | { op: "extend" | "update"; pairs: Pair[]; shape: "pairs" | "object" | "proxy" | "ci" }
  | { op: "clear" };

// Few distinct letters, in both cases, so that keys collide (exactly or but for case) often.
const key = fc.stringMatching(/^[aAbBcC-]{0,3}$/);
const value = fc.string({ maxLength: 4 });
const pairs = fc.array(fc.tuple(key, value), { maxLength: 5 });

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("add" as const), key, value }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("set" as const), key, value }) },
  fc.record({ op: fc.constant("setDefault" as const), key, value }),
  fc.record({ op: fc.constantFrom("delete" as const, "popOne" as const, "popAll" as const), key }),
  fc.record({
    op: fc.constantFrom("extend" as const, "update" as const),
    pairs,
    shape: fc.constantFrom("pairs" as const, "object" as const, "proxy" as const, "ci" as const),
  }),
  { weight: 1, arbitrary: fc.constant({ op: "clear" as const }) },
);

/** `pairs` as one of the init shapes; an object groups a key's values (its order is the keys'). */
function asInit(list: Pair[], shape: "pairs" | "object" | "proxy" | "ci") {
  switch (shape) {
    case "pairs":
      return list;
    case "proxy":
      return new MultiDictProxy(list);
    case "ci":
      return new CIMultiDict(list);
    case "object": {
      const grouped: Record<string, string[]> = {};
      for (const [k, v] of list) {
        if (!Object.hasOwn(grouped, k)) grouped[k] = [];
        grouped[k]?.push(v);
      }
      return grouped;
    }
  }
}

/** The pairs an init shape yields, in the order a multidict takes them. */
function initPairs(list: Pair[], shape: "pairs" | "object" | "proxy" | "ci"): Pair[] {
  return [...new MultiDict(asInit(list, shape))];
}

/** Applies `step` to both and checks that they return the same. */
function apply(md: MultiDict, model: Model, step: Op): void {
  switch (step.op) {
    case "add":
      expect(md.add(step.key, step.value)).toBe(md);
      model.add(step.key, step.value);
      return;
    case "set":
      expect(md.set(step.key, step.value)).toBe(md);
      model.set(step.key, step.value);
      return;
    case "setDefault":
      expect(md.setDefault(step.key, step.value)).toBe(model.setDefault(step.key, step.value));
      return;
    case "delete":
      expect(md.delete(step.key)).toBe(model.delete(step.key));
      return;
    case "popOne":
      expect(md.popOne(step.key)).toBe(model.popOne(step.key));
      return;
    case "popAll": {
      const values = md.getAll(step.key);
      expect(md.delete(step.key)).toBe(values.length > 0);
      expect(values).toEqual(model.popAll(step.key));
      return;
    }
    case "extend":
      expect(md.extend(asInit(step.pairs, step.shape))).toBe(md);
      model.extend(initPairs(step.pairs, step.shape));
      return;
    case "update":
      expect(md.update(asInit(step.pairs, step.shape))).toBe(md);
      model.update(initPairs(step.pairs, step.shape));
      return;
    case "clear":
      md.clear();
      model.pairs = [];
      return;
  }
}

/** Every read of `md` agrees with the model, for every key in `probes`. */
function expectSameReads(md: MultiDictProxy, model: Model, probes: string[]): void {
  expect([...md]).toEqual(model.pairs);
  expect([...md.entries()]).toEqual(model.pairs);
  expect([...md.keys()]).toEqual(model.pairs.map(([k]) => k));
  expect([...md.values()]).toEqual(model.pairs.map(([, v]) => v));
  const seen: Pair[] = [];
  md.forEach((v, k) => {
    seen.push([k, v]);
  });
  expect(seen).toEqual(model.pairs);
  expect(md.size).toBe(model.pairs.length);
  for (const k of probes) {
    const all = model.getAll(k);
    expect(md.getAll(k)).toEqual(all);
    expect(md.has(k)).toBe(all.length > 0);
    expect(md.get(k)).toBe(all[0]);
    expect(md.get(k, "fallback")).toBe(all.length > 0 ? all[0] : "fallback");
    if (all.length > 0) expect(md.getOne(k)).toBe(all[0]);
    else expect(() => md.getOne(k)).toThrow(MultiDictKeyError);
  }
  // toObject: the first value of each key as spelled (docs: spellings stay distinct).
  const first = new Map<string, string>();
  for (const [k, v] of model.pairs) if (!first.has(k)) first.set(k, v);
  expect(md.toObject()).toEqual(Object.fromEntries(first));
}

const cases = [
  { name: "MultiDict", ci: false, make: () => new MultiDict() },
  { name: "CIMultiDict", ci: true, make: () => new CIMultiDict() },
];

describe.each(cases)("$name against an array of pairs", ({ ci, make }) => {
  const probes = ["", "a", "A", "b", "aB", "Ab", "c-", "C-", "zz"];

  it("any sequence of mutations leaves the same pairs and the same answers to every read", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const md = make();
        const model = new Model(ci);
        for (const step of ops) {
          apply(md, model, step);
          expect([...md]).toEqual(model.pairs);
        }
        expectSameReads(md, model, probes);
      }),
      { numRuns: 400 },
    );
  });

  it("a proxy is a snapshot with the same reads, of the same case rule; copy() is independent", () => {
    fc.assert(
      fc.property(pairs, fc.array(op, { maxLength: 8 }), (initial, ops) => {
        const md = make().extend(initial);
        const model = new Model(ci);
        model.extend(initial);
        const proxy = ci ? new CIMultiDictProxy(md) : new MultiDictProxy(md);
        const copy = proxy.copy();
        expect(copy).toBeInstanceOf(ci ? CIMultiDict : MultiDict);
        expectSameReads(proxy, model, probes);
        const snapshot = model.pairs.slice();
        // Changing the original or the copy shows through neither the proxy nor the other.
        const other = new Model(ci);
        other.extend(initial);
        for (const step of ops) {
          apply(md, model, step);
          apply(copy, other, step);
        }
        expect([...proxy]).toEqual(snapshot);
        expectSameReads(md, model, probes);
        expectSameReads(copy, other, probes);
      }),
      { numRuns: 200 },
    );
  });
});

describe("case-insensitivity", () => {
  const anyKey = fc.string({ maxLength: 6 });

  it("a CIMultiDict finds a key under every casing and keeps the spelling it was given", () => {
    fc.assert(
      fc.property(anyKey, value, fc.boolean(), (k, v, upper) => {
        const md = new CIMultiDict([[k, v]]);
        const asked = upper ? k.toUpperCase() : k.toLowerCase();
        // Only casings that compare equal lower-cased (not, say, "ß" upper-cased to "SS").
        fc.pre(asked.toLowerCase() === k.toLowerCase());
        expect(md.get(asked)).toBe(v);
        expect([...md.keys()]).toEqual([k]);
        md.set(asked, `${v}!`);
        expect([...md]).toEqual([[k, `${v}!`]]);
      }),
    );
  });

  it("a MultiDict tells keys apart that differ only in case", () => {
    fc.assert(
      fc.property(anyKey, value, (k, v) => {
        fc.pre(k.toUpperCase() !== k);
        const md = new MultiDict([[k, v]]);
        expect(md.has(k.toUpperCase())).toBe(false);
        expect(md.getAll(k)).toEqual([v]);
      }),
    );
  });

  it("fromFlat builds the same multidict as the pairs, for both kinds", () => {
    fc.assert(
      fc.property(pairs, (list) => {
        const flat = list.flat();
        expect([...MultiDictProxy.fromFlat(flat)]).toEqual(list);
        const ci = CIMultiDictProxy.fromFlat(flat);
        expect([...ci]).toEqual(list);
        for (const [k] of list) expect(ci.getAll(k.toUpperCase())).toEqual(ci.getAll(k));
      }),
    );
  });
});
