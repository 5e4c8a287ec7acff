// Types of the session's cache options and of `fromCache`.
import type { cacheStores } from "undici";
import { expectTypeOf, test } from "vitest";
import type { CacheOptions, ClientResponse, ClientSessionOptions } from "../../src/index.js";

test("cache takes true, a store name or path, or a store object", () => {
  expectTypeOf<{ cache: true }>().toMatchTypeOf<ClientSessionOptions>();
  expectTypeOf<{ store: "sqlite" }>().toMatchTypeOf<CacheOptions>();
  expectTypeOf<{ store: "/var/cache/app.db" }>().toMatchTypeOf<CacheOptions>();
  expectTypeOf<{
    store: InstanceType<typeof cacheStores.MemoryCacheStore>;
  }>().toMatchTypeOf<CacheOptions>();
  expectTypeOf<{ methods: ["GET", "HEAD"] }>().toMatchTypeOf<CacheOptions>();
  expectTypeOf<{ methods: ["POST"] }>().not.toMatchTypeOf<CacheOptions>();
  expectTypeOf<{ maxSize: "1MB" }>().not.toMatchTypeOf<CacheOptions>();
});

test("fromCache is a read-only boolean", () => {
  expectTypeOf<ClientResponse["fromCache"]>().toEqualTypeOf<boolean>();
});
