// undici, loaded on first use. A program that imports "aiohttp-ts" for its server or its
// WebSockets never needs it, and loading it changes V8's garbage collection enough to cost
// a server moving large messages a quarter of its throughput (bench/ws.ts).

import { createRequire } from "node:module";

type Undici = typeof import("undici");

let loaded: Undici | undefined;

/** The undici module (a CommonJS package, so it can be required synchronously). */
export function undici(): Undici {
  loaded ??= createRequire(import.meta.url)("undici") as Undici;
  return loaded;
}
