// aiohttp's classic server example in TypeScript. Run it with `npx tsx examples/hello/server.ts`
// (after `npm run build`: the import resolves to the package's own dist/), then
// `curl http://127.0.0.1:8080/world`. PORT in the environment picks another port.

import { web } from "aiohttp-ts";

const app = new web.Application();
app.router.addGet(
  "/{name}",
  async (request) => new web.Response({ text: `Hello, ${request.matchInfo.name}` }),
);
web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
