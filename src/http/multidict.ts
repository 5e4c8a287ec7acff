// Ordered multi-value dictionaries (aiohttp's multidict): query strings keep repeated keys,
// headers are the same with case-insensitive names.

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

/**
 * A read-only ordered view of key/value pairs where a key may repeat.
 * `MultiDict` and `CIMultiDict` extend it with mutation; a proxy of either is handed out where
 * the caller must not change the data (request headers, query).
 */
export class MultiDictProxy<V = string> implements Iterable<[string, V]> {
  /** Keys as given, in insertion order. */
  protected _names: string[] = [];
  /** Keys as compared: the name itself, or lower-cased for the case-insensitive variant. */
  protected _idents: string[] = [];
  protected _values: V[] = [];

  constructor(init?: MultiDictInit<V>) {
    if (init !== undefined) this._extend(init);
  }

  /**
   * Builds a multidict from a flat `[key, value, key, value, ...]` array, such as Node's
   * `rawHeaders`, without allocating pairs.
   */
  static fromFlat(flat: readonly string[]): MultiDictProxy<string> {
    return new MultiDictProxy<string>()._fillFlat(flat);
  }

  /**
   * @internal appends the pairs to `out` as `[key, value, key, value, ...]` (Node's raw
   * header layout), without allocating pairs
   */
  _appendFlat(out: V[] | string[]): void {
    const names = this._names;
    const values = this._values;
    for (let i = 0; i < names.length; i++) (out as unknown[]).push(names[i], values[i]);
  }

  protected _fillFlat(flat: readonly string[]): this {
    // Only called on string-valued dicts (the static factories create them).
    const self = this as unknown as MultiDictProxy<string>;
    for (let i = 0; i + 1 < flat.length; i += 2)
      self._add(flat[i] as string, flat[i + 1] as string);
    return this;
  }

  /** How names compare; the case-insensitive variant lower-cases them. */
  protected _ident(name: string): string {
    return name;
  }

  /** Number of pairs (a repeated key counts each time). */
  get size(): number {
    return this._names.length;
  }

  /** The first value for `key`, or `fallback` (undefined unless given). */
  get(key: string): V | undefined;
  get<D>(key: string, fallback: D): V | D;
  get<D>(key: string, fallback?: D): V | D | undefined {
    const i = this._idents.indexOf(this._ident(key));
    return i === -1 ? fallback : this._values[i];
  }

  /** The first value for `key`; throws `MultiDictKeyError` when missing. */
  getOne(key: string): V {
    const i = this._idents.indexOf(this._ident(key));
    if (i === -1) throw new MultiDictKeyError(key);
    return this._values[i] as V;
  }

  /** Every value for `key`, in order; an empty array when missing. */
  getAll(key: string): V[] {
    const ident = this._ident(key);
    const out: V[] = [];
    for (let i = 0; i < this._idents.length; i++) {
      if (this._idents[i] === ident) out.push(this._values[i] as V);
    }
    return out;
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this._idents.includes(this._ident(key));
  }

  /** Keys in order, repeated keys repeated. */
  keys(): IterableIterator<string> {
    return this._names.values();
  }

  /** Values in order. */
  values(): IterableIterator<V> {
    return this._values.values();
  }

  /** `[key, value]` pairs in order. */
  *entries(): IterableIterator<[string, V]> {
    for (let i = 0; i < this._names.length; i++) {
      yield [this._names[i] as string, this._values[i] as V];
    }
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** Calls `fn` for every pair, in order. */
  forEach(fn: (value: V, key: string, dict: this) => void): void {
    for (let i = 0; i < this._names.length; i++)
      fn(this._values[i] as V, this._names[i] as string, this);
  }

  /** A plain object with the first value of each key (handy for logging and JSON). */
  toObject(): Record<string, V> {
    const first = new Map<string, V>();
    for (let i = 0; i < this._names.length; i++) {
      const name = this._names[i] as string;
      if (!first.has(name)) first.set(name, this._values[i] as V);
    }
    // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
    return Object.fromEntries(first);
  }

  /** A mutable copy of the same kind (case-insensitive stays case-insensitive). */
  copy(): MultiDict<V> {
    const out =
      this._ident === MultiDictProxy.prototype._ident ? new MultiDict<V>() : new CIMultiDict<V>();
    out._names = this._names.slice();
    out._idents = this._idents.slice();
    out._values = this._values.slice();
    return out;
  }

  toString(): string {
    const body = Array.from(this, ([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    return `<${this.constructor.name}(${body.join(", ")})>`;
  }

  protected _add(key: string, value: V): void {
    this._names.push(key);
    this._idents.push(this._ident(key));
    this._values.push(value);
  }

  protected _extend(init: MultiDictInit<V>): void {
    if (init instanceof MultiDictProxy) {
      for (let i = 0; i < init._names.length; i++) {
        this._add(init._names[i] as string, init._values[i] as V);
      }
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const [k, v] of init as Iterable<readonly [string, V]>) this._add(k, v);
    } else {
      for (const [k, v] of Object.entries(init as Record<string, V | readonly V[]>)) {
        if (Array.isArray(v)) for (const item of v as readonly V[]) this._add(k, item);
        else this._add(k, v as V);
      }
    }
  }
}

/** A mutable ordered multidict with case-sensitive keys (query strings, form fields). */
export class MultiDict<V = string> extends MultiDictProxy<V> {
  /** Appends a pair, keeping earlier values for the same key. */
  add(key: string, value: V): this {
    this._add(key, value);
    return this;
  }

  /** Replaces every value of `key` with one value, kept at the first occurrence's place. */
  set(key: string, value: V): this {
    const ident = this._ident(key);
    const first = this._idents.indexOf(ident);
    if (first === -1) {
      this._add(key, value);
      return this;
    }
    this._values[first] = value;
    for (let i = this._idents.length - 1; i > first; i--) {
      if (this._idents[i] === ident) this._removeAt(i);
    }
    return this;
  }

  /** Sets `key` to `value` unless it is present; returns the first value. */
  setDefault(key: string, value: V): V {
    const i = this._idents.indexOf(this._ident(key));
    if (i !== -1) return this._values[i] as V;
    this._add(key, value);
    return value;
  }

  /** Removes every value of `key`; returns whether there was any. */
  delete(key: string): boolean {
    const ident = this._ident(key);
    let found = false;
    for (let i = this._idents.length - 1; i >= 0; i--) {
      if (this._idents[i] === ident) {
        this._removeAt(i);
        found = true;
      }
    }
    return found;
  }

  /** Removes and returns the first value of `key` (others stay), or `undefined`. */
  popOne(key: string): V | undefined {
    const i = this._idents.indexOf(this._ident(key));
    if (i === -1) return undefined;
    const value = this._values[i];
    this._removeAt(i);
    return value;
  }

  /** Appends every pair of `init`. */
  extend(init: MultiDictInit<V>): this {
    this._extend(init);
    return this;
  }

  /** Replaces the keys present in `init` (with all their values there) and keeps the rest. */
  update(init: MultiDictInit<V>): this {
    const incoming = new (this.constructor as new (i: MultiDictInit<V>) => MultiDict<V>)(init);
    for (const key of new Set(incoming._names)) this.delete(key);
    return this.extend(incoming);
  }

  /** Removes every pair. */
  clear(): void {
    this._names.length = 0;
    this._idents.length = 0;
    this._values.length = 0;
  }

  private _removeAt(i: number): void {
    this._names.splice(i, 1);
    this._idents.splice(i, 1);
    this._values.splice(i, 1);
  }
}

/** A read-only multidict whose keys compare case-insensitively (HTTP header names). */
export class CIMultiDictProxy<V = string> extends MultiDictProxy<V> {
  /** Builds a case-insensitive multidict from Node's `rawHeaders` layout. */
  static override fromFlat(flat: readonly string[]): CIMultiDictProxy<string> {
    return new CIMultiDictProxy<string>()._fillFlat(flat);
  }

  protected override _ident(name: string): string {
    return name.toLowerCase();
  }
}

/** A mutable multidict whose keys compare case-insensitively (HTTP header names). */
export class CIMultiDict<V = string> extends MultiDict<V> {
  protected override _ident(name: string): string {
    return name.toLowerCase();
  }
}
