// Connectors (aiohttp's TCPConnector/UnixConnector) over undici's Agent: connection pools per
// origin, a total limit across hosts (excess requests wait), DNS caching, unix sockets.

import type { ConnectionOptions } from "node:tls";
import { Agent, type Dispatcher, interceptors } from "undici";
import { ClientClosedError, ConnectionTimeoutError } from "./errors.js";

/** Options every connector takes. */
export interface BaseConnectorOptions {
  /** Most connections open at once across all hosts (0: no limit); @default 100 */
  limit?: number;
  /** Most connections to one host (0: no limit); @default 0 */
  limitPerHost?: number;
  /** How long an idle keep-alive connection is kept, ms; @default 15_000 */
  keepaliveTimeout?: number;
  /** Close every connection after its response instead of keeping it alive; @default false */
  forceClose?: boolean;
  /** Opening a connection may take this long, ms (0: no limit); @default 30_000 */
  connectTimeout?: number;
  /**
   * TLS: `false` skips certificate verification, an object passes `node:tls` options (`ca`,
   * `cert`, `key`, `servername`...). @default true (verify)
   */
  ssl?: boolean | ConnectionOptions;
  /** Longest response head accepted, bytes (all header lines together); @default 1 MiB */
  maxHeaderSize?: number;
}

/** Options of `TCPConnector`. */
export interface TCPConnectorOptions extends BaseConnectorOptions {
  /** How long resolved addresses are cached, ms (null: as long as the records say); @default 10_000 */
  ttlDnsCache?: number | null;
  /** @default true */
  useDnsCache?: boolean;
  /** Local address to bind outgoing connections to. */
  localAddr?: string;
  /** 4 or 6 to use only IPv4 or IPv6; @default 0 (both) */
  family?: 0 | 4 | 6;
}

/** Releases a connection slot taken with `acquire`. */
export type ReleaseSlot = () => void;

/**
 * Owns an undici dispatcher and enforces the total connection limit. Sessions share one when
 * created with `{ connector, connectorOwner: false }`.
 */
export abstract class BaseConnector {
  readonly limit: number;
  readonly limitPerHost: number;
  readonly forceClose: boolean;
  #dispatcher: Dispatcher | null = null;
  #active = 0;
  #waiters: Array<() => void> = [];
  #closed = false;

  constructor(protected readonly _options: BaseConnectorOptions = {}) {
    this.limit = checkCount("limit", _options.limit ?? 100);
    this.limitPerHost = checkCount("limitPerHost", _options.limitPerHost ?? 0);
    this.forceClose = _options.forceClose ?? false;
  }

  /** Connect options for undici (TLS settings included). */
  protected _connectOptions(): Record<string, unknown> {
    const ssl = this._options.ssl ?? true;
    const tls = ssl === true ? {} : ssl === false ? { rejectUnauthorized: false } : ssl;
    return { timeout: this._options.connectTimeout ?? 30_000, ...tls };
  }

  /** Builds the undici dispatcher; called once, on first use. */
  protected abstract _createDispatcher(): Dispatcher;

  /** The undici dispatcher requests go through. */
  get dispatcher(): Dispatcher {
    if (this.#closed) throw new ClientClosedError("Connector is closed");
    return (this.#dispatcher ??= this._createDispatcher());
  }

  /** Agent options shared by the concrete connectors. */
  protected _agentOptions(): Agent.Options {
    return {
      connections: this.limitPerHost === 0 ? null : this.limitPerHost,
      keepAliveTimeout: this._options.keepaliveTimeout ?? 15_000,
      keepAliveMaxTimeout: Math.max(this._options.keepaliveTimeout ?? 15_000, 600_000),
      maxHeaderSize: this._options.maxHeaderSize ?? 1024 * 1024,
      // Timeouts are applied per request (sockRead), not by the agent.
      headersTimeout: 0,
      bodyTimeout: 0,
    };
  }

  /** Connections (requests holding one) in use now. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a free slot under `limit`. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes a slot under the total limit, waiting while all are in use (they do not fail).
   * `timeoutMs` bounds the wait (`ConnectionTimeoutError`); `signal` cancels it.
   */
  async acquire(timeoutMs = 0, signal?: AbortSignal, what = "a connection"): Promise<ReleaseSlot> {
    if (this.#closed) throw new ClientClosedError("Connector is closed");
    if (this.limit === 0 || this.#active < this.limit) return this.#take();
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const drop = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        drop();
        reject(signal?.reason);
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          drop();
          reject(
            new ConnectionTimeoutError(
              `Connection timeout to ${what} (waited ${timeoutMs} ms for a free slot)`,
            ),
          );
        }, timeoutMs);
      }
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
    return this.#take();
  }

  #take(): ReleaseSlot {
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const next = this.#waiters.shift();
      if (next !== undefined) next();
    };
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every connection; pending requests fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const d = this.#dispatcher;
    this.#dispatcher = null;
    if (d !== null) await d.destroy().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** TCP (and TLS) connections with pooling, limits and a DNS cache. */
export class TCPConnector extends BaseConnector {
  constructor(options: TCPConnectorOptions = {}) {
    super(options);
  }

  protected _createDispatcher(): Dispatcher {
    const o = this._options as TCPConnectorOptions;
    const connect: Record<string, unknown> = this._connectOptions();
    if (o.localAddr !== undefined) connect.localAddress = o.localAddr;
    if (o.family !== undefined && o.family !== 0) connect.family = o.family;
    const agent = new Agent({ ...this._agentOptions(), connect });
    if (o.useDnsCache === false) return agent;
    const ttl = o.ttlDnsCache === undefined ? 10_000 : o.ttlDnsCache;
    return agent.compose(
      interceptors.dns({
        ...(ttl === null ? {} : { maxTTL: ttl }),
        ...(o.family === 4 || o.family === 6 ? { affinity: o.family, dualStack: false } : {}),
      }),
    );
  }
}

/** Options of `UnixConnector`. */
export interface UnixConnectorOptions extends BaseConnectorOptions {
  /** The unix socket every request goes to, whatever the URL's host. */
  path: string;
}

/** Connections over a unix domain socket. */
export class UnixConnector extends BaseConnector {
  readonly path: string;
  constructor(options: UnixConnectorOptions) {
    super(options);
    this.path = options.path;
  }

  protected _createDispatcher(): Dispatcher {
    return new Agent({
      ...this._agentOptions(),
      connect: { ...this._connectOptions(), socketPath: this.path },
    });
  }
}

function checkCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a count >= 0, got ${value}`);
  return value;
}
