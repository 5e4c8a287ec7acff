// Static files, our peer: `router.addStatic` on the BUILT package (dist/), default options.
// Usage: node static-aiohttp-ts.mjs PORT DIRECTORY

import { web } from "../../dist/index.js";

const [, , port, directory] = process.argv;

const app = new web.Application();
app.router.addStatic("/static", directory);

const runner = new web.AppRunner(app, { accessLog: null });
await runner.setup();
await new web.TCPSite(runner, "127.0.0.1", Number(port)).start();
console.log("READY");
// An explicit exit, so that `node --cpu-prof` writes its profile when the bench stops us.
process.on("SIGTERM", () => process.exit(0));
