// ClientTimeout (aiohttp's ClientTimeout), in milliseconds: session defaults, per-request
// overrides field by field.

import { checkOptions, type OptionNames } from "./option-check.js";

/** Timeouts of a request, in ms; `null` or 0 turns one off. */
export interface ClientTimeout {
  /** The whole request: connecting, redirects and reading the body. @default 300_000 */
  total?: number | null;
  /** Getting a connection: waiting for a free one in the pool plus opening it. @default null */
  connect?: number | null;
  /** Opening a new TCP (and TLS) connection. @default 30_000 */
  sockConnect?: number | null;
  /** The longest wait for the response head and between two body chunks. @default null */
  sockRead?: number | null;
}

/** The resolved timeouts: a number each, 0 meaning none. */
export interface ResolvedTimeout {
  readonly total: number;
  readonly connect: number;
  readonly sockConnect: number;
  readonly sockRead: number;
}

/** aiohttp's defaults: 5 minutes in total, 30 s to open a socket. */
export const DEFAULT_TIMEOUT: ResolvedTimeout = Object.freeze({
  total: 300_000,
  connect: 0,
  sockConnect: 30_000,
  sockRead: 0,
});

function pick(value: number | null | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === null) return 0;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`Invalid timeout ${value}`);
  return value;
}

const TIMEOUT_NAMES = {
  total: true,
  connect: true,
  sockConnect: true,
  sockRead: true,
} as const satisfies OptionNames<ClientTimeout>;

/** Applies `overrides` field by field over `base`. */
export function resolveTimeout(base: ResolvedTimeout, overrides?: ClientTimeout): ResolvedTimeout {
  if (overrides === undefined) return base;
  if (typeof overrides === "number") {
    // axios takes a number here, and aiohttp once did (in seconds): either would be misread.
    throw new TypeError(
      `timeout must be an object of milliseconds such as { total: ${overrides} }, not a number`,
    );
  }
  checkOptions("timeout", overrides, TIMEOUT_NAMES);
  return {
    total: pick(overrides.total, base.total),
    connect: pick(overrides.connect, base.connect),
    sockConnect: pick(overrides.sockConnect, base.sockConnect),
    sockRead: pick(overrides.sockRead, base.sockRead),
  };
}
