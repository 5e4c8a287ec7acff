// Typed keys for application, request and response state (aiohttp's `web.AppKey`): the key
// carries the value's type, so `app.get(dbKey)` is a `Db` without a cast.

// Carries a key's value type (a key holds no value): a module-local symbol keeps the name out
// of users' reach and completion lists, and the type still reaches the published declarations.
declare const valueType: unique symbol;

/** A typed key for state kept on an `Application`. */
export class AppKey<T> {
  declare readonly [valueType]?: T;
  /** @param name shown in error messages and `toString()` */
  constructor(readonly name: string) {}
  toString(): string {
    return `<AppKey(${this.name})>`;
  }
}

/** A typed key for state kept on one `Request` (set by a middleware, read by the handler). */
export class RequestKey<T> {
  declare readonly [valueType]?: T;
  constructor(readonly name: string) {}
  toString(): string {
    return `<RequestKey(${this.name})>`;
  }
}

/** A typed key for state kept on one response. */
export class ResponseKey<T> {
  declare readonly [valueType]?: T;
  constructor(readonly name: string) {}
  toString(): string {
    return `<ResponseKey(${this.name})>`;
  }
}

/** Thrown by `getOrThrow`-style lookups when a key was never set. */
export class StateKeyError extends Error {
  override readonly name = "StateKeyError";
  readonly code = "AIOHTTP_STATE_KEY_MISSING";
  constructor(readonly key: { readonly name: string }) {
    super(`No value was set for ${String(key)}`);
  }
}

/**
 * The state store behind `app.get/set`, `request.get/set` and `response.get/set`. A lookup that
 * misses falls back to `parent` (a sub-application's request sees its parents' state).
 */
export class StateStore<K extends { readonly name: string }> {
  #map: Map<K, unknown> | undefined;
  // A function, not a store: the parent is only known once the application is mounted.
  readonly #parent: (() => StateStore<K> | undefined) | undefined;

  constructor(parent?: () => StateStore<K> | undefined) {
    this.#parent = parent;
  }

  get(key: K): unknown {
    if (this.#map?.has(key)) return this.#map.get(key);
    return this.#parent?.()?.get(key);
  }

  has(key: K): boolean {
    return this.#map?.has(key) === true || this.#parent?.()?.has(key) === true;
  }

  hasOwn(key: K): boolean {
    return this.#map?.has(key) === true;
  }

  set(key: K, value: unknown): void {
    this.#map ??= new Map();
    this.#map.set(key, value);
  }

  delete(key: K): boolean {
    return this.#map?.delete(key) === true;
  }

  keys(): IterableIterator<K> {
    return (this.#map ?? new Map<K, unknown>()).keys();
  }
}
