// The client's heavier dependencies, each loaded on first use. A program that imports
// "aiohttp-ts" for its server or its WebSockets never needs them: loading undici changes V8's
// garbage collection enough to cost a server moving large messages a quarter of its
// throughput (bench/ws.ts), and tough-cookie (with its public-suffix list) and chardet add
// tens of milliseconds to start-up.

import { createRequire } from "node:module";

// All three are CommonJS packages (or ship a CommonJS build), so they load synchronously.
const require = createRequire(import.meta.url);

let undiciModule: typeof import("undici") | undefined;
let toughCookieModule: typeof import("tough-cookie") | undefined;
let chardetModule: typeof import("chardet") | undefined;

/** The undici module. */
export function undici(): typeof import("undici") {
  undiciModule ??= require("undici") as typeof import("undici");
  return undiciModule;
}

/** The tough-cookie module. */
export function toughCookie(): typeof import("tough-cookie") {
  toughCookieModule ??= require("tough-cookie") as typeof import("tough-cookie");
  return toughCookieModule;
}

/** The chardet module. */
export function chardet(): typeof import("chardet") {
  chardetModule ??= require("chardet") as typeof import("chardet");
  return chardetModule;
}
