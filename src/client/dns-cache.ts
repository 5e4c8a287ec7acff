// The connector's DNS cache: undici's dns interceptor over a storage and a lookup of ours. A
// traced request resolves its host itself before it is dispatched, so that aiohttp's DNS
// signals are awaited around the real lookup, and hands the addresses to the interceptor
// through the dispatch options (no second lookup).

import { type LookupAddress, type LookupOptions, lookup } from "node:dns";
import { isIP } from "node:net";
import type { Dispatcher } from "undici";
import { undici } from "./lazy-deps.js";
import type { RequestTrace } from "./tracing.js";

/** Hosts kept at most; the oldest entry makes room for a new one. */
const MAX_HOSTS = 10_000;

const kResolved: unique symbol = Symbol("aiohttp-ts.resolved");

/** Addresses a traced request looked up, for the interceptor's next lookup of that request. */
interface Handoff {
  addresses: DnsRecord[] | null;
}

/** What the dispatch options carry for the interceptor (`opts.dns` reaches its lookup). */
export interface DnsDispatchOptions {
  readonly [kResolved]: Handoff;
}

type DnsOptions = NonNullable<Parameters<ReturnType<typeof undici>["interceptors"]["dns"]>[0]>;
type DnsStorage = NonNullable<DnsOptions["storage"]>;
type OriginRecords = NonNullable<ReturnType<DnsStorage["get"]>>;
type DnsRecord = OriginRecords["records"][4] extends { ips: Array<infer R> } | null ? R : never;
type LookupCallback = Parameters<NonNullable<DnsOptions["lookup"]>>[2];

/** undici stamps each stored address with the time it was stored. */
interface StoredAddress {
  readonly timestamp?: number;
  readonly ttl: number;
}

/** undici's per-lookup options, with what the request put in `opts.dns`. */
interface ResolveOptions extends LookupOptions {
  readonly dualStack?: boolean;
  readonly affinity?: 4 | 6 | null;
  readonly [kResolved]?: Handoff;
}

/**
 * The time to live undici is told when addresses must not be reused (`ttlDnsCache: 0`): it
 * checks a record's age when it picks the address it has just stored, and with 0 a clock tick
 * in between left it none (a TypeError inside undici, and a request that never settled). The
 * records are used once instead (HostRecords' `once`).
 */
const ONE_USE_TTL = 60_000;

/** The records of each host, as undici's dns interceptor stores them (its `storage` option). */
class HostRecords implements DnsStorage {
  readonly #hosts = new Map<string, OriginRecords>();
  /** Forget a host's records once undici has read them after storing them (no reuse). */
  readonly #once: boolean;

  constructor(once: boolean) {
    this.#once = once;
  }

  get size(): number {
    return this.#hosts.size;
  }

  get(hostname: string): OriginRecords | null {
    const records = this.#hosts.get(hostname) ?? null;
    // undici reads them right after storing them, to pick the address for this request.
    if (this.#once) this.#hosts.delete(hostname);
    return records;
  }

  set(hostname: string, records: OriginRecords | null): void {
    this.#hosts.delete(hostname);
    if (records === null) return;
    if (this.#hosts.size >= MAX_HOSTS) {
      const oldest = this.#hosts.keys().next();
      if (oldest.done !== true) this.#hosts.delete(oldest.value);
    }
    this.#hosts.set(hostname, records);
  }

  delete(hostname: string): void {
    this.#hosts.delete(hostname);
  }

  full(): boolean {
    return false;
  }

  /** Whether an address of `hostname` is still within its time to live. */
  fresh(hostname: string): boolean {
    const entry = this.#hosts.get(hostname);
    const now = Date.now();
    for (const family of [entry?.records[4], entry?.records[6]]) {
      for (const ip of (family?.ips ?? []) as StoredAddress[]) {
        if (ip.timestamp !== undefined && now - ip.timestamp <= ip.ttl) return true;
      }
    }
    return false;
  }
}

/**
 * `hostname`'s addresses, duplicates removed, IPv4 first (as undici's own lookup), each to be
 * used for `ttl` ms.
 */
function resolve(hostname: string, family: 0 | 4 | 6, ttl: number): Promise<DnsRecord[]> {
  // A bracketed IPv6 literal reaches the interceptor as a host name.
  const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  const literal = isIP(bare);
  if (literal !== 0) return Promise.resolve([{ address: bare, family: literal as 4 | 6, ttl }]);
  return new Promise((done, fail) => {
    lookup(bare, { all: true, family, order: "ipv4first" }, (err, addresses) => {
      if (err !== null) {
        fail(err);
        return;
      }
      const unique = new Map<string, DnsRecord>();
      for (const a of addresses as LookupAddress[]) {
        unique.set(`${a.address}:${a.family}`, {
          address: a.address,
          family: a.family as 4 | 6,
          ttl,
        });
      }
      done([...unique.values()]);
    });
  });
}

/** One connector's cache of host addresses, shared by all its pools. */
export class DnsCache {
  readonly #records: HostRecords;
  readonly #maxTTL: number;
  readonly #family: 0 | 4 | 6;

  /** `maxTTL`: how long, in ms, an address is used (node's lookups carry no TTL); 0: once. */
  constructor(maxTTL: number, family: 0 | 4 | 6) {
    this.#records = new HostRecords(maxTTL === 0);
    this.#maxTTL = maxTTL === 0 ? ONE_USE_TTL : maxTTL;
    this.#family = family;
  }

  /** undici's dns interceptor over this cache. */
  interceptor(): Dispatcher.DispatcherComposeInterceptor {
    const family = this.#family;
    return undici().interceptors.dns({
      maxTTL: this.#maxTTL,
      storage: this.#records,
      lookup: (origin: URL, options: LookupOptions, callback: LookupCallback) => {
        const opts = options as ResolveOptions;
        const handoff = opts[kResolved];
        if (handoff?.addresses != null) {
          const addresses = handoff.addresses;
          handoff.addresses = null;
          callback(null, addresses);
          return;
        }
        const wanted = opts.dualStack === false ? (opts.affinity ?? family) : 0;
        resolve(origin.hostname, wanted, this.#maxTTL).then(
          (addresses) => callback(null, addresses),
          (err: NodeJS.ErrnoException) => callback(err, []),
        );
      },
      ...(family === 0 ? {} : { affinity: family, dualStack: false }),
    });
  }

  /**
   * Resolves `hostname` for a traced request, awaiting aiohttp's DNS signals around the lookup:
   * `onDnsCacheHit`, or `onDnsCacheMiss` then `onDnsResolvehostStart`/`End`. Gives what the
   * request's dispatch options carry as `dns`, or `undefined` (an IP address, a cached host, a
   * failed lookup: the interceptor looks up again and the request fails with its error).
   */
  async traceResolve(
    hostname: string,
    trace: RequestTrace,
  ): Promise<DnsDispatchOptions | undefined> {
    const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
    if (isIP(bare) !== 0) return undefined;
    const host = hostname;
    if (this.#records.fresh(hostname)) {
      await trace.send("onDnsCacheHit", { host });
      return undefined;
    }
    await trace.send("onDnsCacheMiss", { host });
    await trace.send("onDnsResolvehostStart", { host });
    let addresses: DnsRecord[];
    try {
      addresses = await resolve(hostname, this.#family, this.#maxTTL);
    } catch {
      return undefined;
    }
    await trace.send("onDnsResolvehostEnd", { host });
    return { [kResolved]: { addresses } };
  }
}
