// Preloaded (`--import`, through NODE_OPTIONS, so test workers and the programs tests start
// get it too) into every process of .ci/run's Node 24 run. node_modules/better-sqlite3 holds
// the addon `npm ci` built for Node 20, whose ABI Node 24 refuses; this loads the copy .ci/run
// built for Node 24 (AIOHTTP_TS_BETTER_SQLITE3_BINDING) in its place, so node_modules stays as
// the Node 20 run needs it.
import { registerHooks } from "node:module";
import { pathToFileURL } from "node:url";

const ADDON = "/node_modules/better-sqlite3/build/Release/better_sqlite3.node";
const binding = process.env.AIOHTTP_TS_BETTER_SQLITE3_BINDING;

// A child started with an environment of its own has no copy to load: it keeps the default.
if (binding) {
  const url = pathToFileURL(binding).href;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      return resolved.url.endsWith(ADDON) ? { ...resolved, url } : resolved;
    },
  });
}
