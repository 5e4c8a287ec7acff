// Ordered multi-value dictionaries (aiohttp's multidict): query strings keep repeated keys,
// headers are the same with case-insensitive names.

import { kAppendFlat, kEntries, kViewOf } from "./symbols.js";

/** What a multidict can be built or extended from. */
export type MultiDictInit<V = string> =
  | Iterable<readonly [string, V]>
  | Record<string, V | readonly V[]>
  | MultiDictProxy<V>;

/** Thrown by `getOne` when the key is missing, like Python's `KeyError`. */
export class MultiDictKeyError extends Error {
  override readonly name = "MultiDictKeyError";
  readonly code = "AIOHTTP_MULTIDICT_KEY_MISSING";
  constructor(readonly key: string) {
    super(`Key not found: ${JSON.stringify(key)}`);
  }
}

/** @internal the pairs of a multidict, as three parallel arrays */
export class Entries<V> {
  /** Keys as given, in insertion order. */
  names: string[] = [];
  /** Keys as compared: the name itself, or lower-cased for the case-insensitive variants. */
  idents: string[] = [];
  values: V[] = [];

  constructor(readonly caseInsensitive: boolean) {}

  ident(name: string): string {
    return this.caseInsensitive ? name.toLowerCase() : name;
  }

  indexOf(name: string): number {
    return this.idents.indexOf(this.ident(name));
  }

  add(key: string, value: V): void {
    this.names.push(key);
    this.idents.push(this.ident(key));
    this.values.push(value);
  }

  removeAt(i: number): void {
    this.names.splice(i, 1);
    this.idents.splice(i, 1);
    this.values.splice(i, 1);
  }

  extend(init: MultiDictInit<V>): void {
    if (init instanceof MultiDictProxy) {
      const other = init[kEntries];
      for (let i = 0; i < other.names.length; i++) {
        this.add(other.names[i] as string, other.values[i] as V);
      }
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const [k, v] of init as Iterable<readonly [string, V]>) this.add(k, v);
    } else {
      for (const [k, v] of Object.entries(init as Record<string, V | readonly V[]>)) {
        if (Array.isArray(v)) for (const item of v as readonly V[]) this.add(k, item);
        else this.add(k, v as V);
      }
    }
  }
}

/**
 * A read-only ordered view of key/value pairs where a key may repeat.
 * `MultiDict` and `CIMultiDict` extend it with mutation; a proxy of either is handed out where
 * the caller must not change the data (request headers, query).
 */
export class MultiDictProxy<V = string> implements Iterable<[string, V]> {
  /** Replaced only by `[kViewOf]`, right after construction. */
  #entries: Entries<V>;

  constructor(init?: MultiDictInit<V>) {
    // Case-insensitivity is a property of the class, fixed at construction.
    this.#entries = new Entries(this instanceof CIMultiDictProxy || this instanceof CIMultiDict);
    if (init !== undefined) this.#entries.extend(init);
  }

  /**
   * Builds a multidict from a flat `[key, value, key, value, ...]` array, such as Node's
   * `rawHeaders`, without allocating pairs.
   */
  static fromFlat(flat: readonly string[]): MultiDictProxy<string> {
    return fillFlat(new MultiDictProxy<string>(), flat);
  }

  /**
   * @internal a proxy over the pairs of `dict` itself rather than a copy, which sees its later
   * changes as aiohttp's `CIMultiDictProxy(md)` does (a request's headers in its `requestInfo`)
   */
  static [kViewOf]<V>(dict: CIMultiDict<V>): CIMultiDictProxy<V> {
    const view = new CIMultiDictProxy<V>();
    view.#entries = dict.#entries;
    return view;
  }

  /** @internal the pairs, for the mutable subclasses */
  get [kEntries](): Entries<V> {
    return this.#entries;
  }

  /** @internal appends the pairs to `out` as `[key, value, key, value, ...]` */
  [kAppendFlat](out: V[] | string[]): void {
    const { names, values } = this.#entries;
    for (let i = 0; i < names.length; i++) (out as unknown[]).push(names[i], values[i]);
  }

  /** Number of pairs (a repeated key counts each time). */
  get size(): number {
    return this.#entries.names.length;
  }

  /** The first value for `key`, or `fallback` (undefined unless given). */
  get(key: string): V | undefined;
  get<D>(key: string, fallback: D): V | D;
  get<D>(key: string, fallback?: D): V | D | undefined {
    const e = this.#entries;
    const i = e.indexOf(key);
    return i === -1 ? fallback : e.values[i];
  }

  /** The first value for `key`; throws `MultiDictKeyError` when missing. */
  getOne(key: string): V {
    const e = this.#entries;
    const i = e.indexOf(key);
    if (i === -1) throw new MultiDictKeyError(key);
    return e.values[i] as V;
  }

  /** Every value for `key`, in order; an empty array when missing. */
  getAll(key: string): V[] {
    const e = this.#entries;
    const ident = e.ident(key);
    const out: V[] = [];
    for (let i = 0; i < e.idents.length; i++) {
      if (e.idents[i] === ident) out.push(e.values[i] as V);
    }
    return out;
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.#entries.indexOf(key) !== -1;
  }

  /** Keys in order, repeated keys repeated. */
  keys(): IterableIterator<string> {
    return this.#entries.names.values();
  }

  /** Values in order. */
  values(): IterableIterator<V> {
    return this.#entries.values.values();
  }

  /** `[key, value]` pairs in order. */
  *entries(): IterableIterator<[string, V]> {
    const { names, values } = this.#entries;
    for (let i = 0; i < names.length; i++) {
      yield [names[i] as string, values[i] as V];
    }
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** Calls `fn` for every pair, in order. */
  forEach(fn: (value: V, key: string, dict: this) => void): void {
    const { names, values } = this.#entries;
    for (let i = 0; i < names.length; i++) fn(values[i] as V, names[i] as string, this);
  }

  /** A plain object with the first value of each key (handy for logging and JSON). */
  toObject(): Record<string, V> {
    const { names, values } = this.#entries;
    const first = new Map<string, V>();
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      if (!first.has(name)) first.set(name, values[i] as V);
    }
    // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
    return Object.fromEntries(first);
  }

  /** A mutable copy of the same kind (case-insensitive stays case-insensitive). */
  copy(): MultiDict<V> {
    const e = this.#entries;
    const out = e.caseInsensitive ? new CIMultiDict<V>() : new MultiDict<V>();
    const copied = out.#entries;
    copied.names = e.names.slice();
    copied.idents = e.idents.slice();
    copied.values = e.values.slice();
    return out;
  }

  toString(): string {
    const body = Array.from(this, ([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    return `<${this.constructor.name}(${body.join(", ")})>`;
  }
}

function fillFlat<D extends MultiDictProxy<string>>(dict: D, flat: readonly string[]): D {
  const e = dict[kEntries];
  for (let i = 0; i + 1 < flat.length; i += 2) e.add(flat[i] as string, flat[i + 1] as string);
  return dict;
}

/** A mutable ordered multidict with case-sensitive keys (query strings, form fields). */
export class MultiDict<V = string> extends MultiDictProxy<V> {
  /** Appends a pair, keeping earlier values for the same key. */
  add(key: string, value: V): this {
    this[kEntries].add(key, value);
    return this;
  }

  /** Replaces every value of `key` with one value, kept at the first occurrence's place. */
  set(key: string, value: V): this {
    const e = this[kEntries];
    const ident = e.ident(key);
    const first = e.idents.indexOf(ident);
    if (first === -1) {
      e.add(key, value);
      return this;
    }
    e.values[first] = value;
    for (let i = e.idents.length - 1; i > first; i--) {
      if (e.idents[i] === ident) e.removeAt(i);
    }
    return this;
  }

  /** Sets `key` to `value` unless it is present; returns the first value. */
  setDefault(key: string, value: V): V {
    const e = this[kEntries];
    const i = e.indexOf(key);
    if (i !== -1) return e.values[i] as V;
    e.add(key, value);
    return value;
  }

  /** Removes every value of `key`; returns whether there was any. */
  delete(key: string): boolean {
    const e = this[kEntries];
    const ident = e.ident(key);
    let found = false;
    for (let i = e.idents.length - 1; i >= 0; i--) {
      if (e.idents[i] === ident) {
        e.removeAt(i);
        found = true;
      }
    }
    return found;
  }

  /** Removes and returns the first value of `key` (others stay), or `undefined`. */
  popOne(key: string): V | undefined {
    const e = this[kEntries];
    const i = e.indexOf(key);
    if (i === -1) return undefined;
    const value = e.values[i];
    e.removeAt(i);
    return value;
  }

  /** Appends every pair of `init`. */
  extend(init: MultiDictInit<V>): this {
    this[kEntries].extend(init);
    return this;
  }

  /** Replaces the keys present in `init` (with all their values there) and keeps the rest. */
  update(init: MultiDictInit<V>): this {
    const incoming = new (this.constructor as new (i: MultiDictInit<V>) => MultiDict<V>)(init);
    for (const key of new Set(incoming.keys())) this.delete(key);
    return this.extend(incoming);
  }

  /** Removes every pair. */
  clear(): void {
    const e = this[kEntries];
    e.names.length = 0;
    e.idents.length = 0;
    e.values.length = 0;
  }
}

/** A read-only multidict whose keys compare case-insensitively (HTTP header names). */
export class CIMultiDictProxy<V = string> extends MultiDictProxy<V> {
  /** Builds a case-insensitive multidict from Node's `rawHeaders` layout. */
  static override fromFlat(flat: readonly string[]): CIMultiDictProxy<string> {
    return fillFlat(new CIMultiDictProxy<string>(), flat);
  }
}

/** A mutable multidict whose keys compare case-insensitively (HTTP header names). */
export class CIMultiDict<V = string> extends MultiDict<V> {}
