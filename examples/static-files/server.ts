// Static files: a site's assets served from public/ under /static, the home page sent with
// FileResponse, and asset URLs built with urlFor and a content version for long-lived caching.
//
//   npx tsx examples/static-files/server.ts
//   curl http://127.0.0.1:8080/                      the home page (public/index.html)
//   curl http://127.0.0.1:8080/static/css/site.css   an asset
//   curl http://127.0.0.1:8080/assets                the versioned asset URLs, as JSON
//   curl --path-as-is http://127.0.0.1:8080/static/../server.ts    404: nothing outside public/

import { web } from "aiohttp-ts";

const publicDir = new URL("./public/", import.meta.url);

const app = new web.Application();

// aiohttp serves no index.html for a directory: the home page is a route of its own.
app.router.addGet("/", () => new web.FileResponse(new URL("index.html", publicDir)));

// GET and HEAD of /static/<file> from public/, with ETag, Range and precompressed siblings.
// A directory answers 403 (showIndex: true would list it); nothing outside public/ is reachable.
const assets = app.router.addStatic("/static", publicDir, { name: "static", appendVersion: true });

// `?v=<hash of the content>` changes whenever the file does, so clients may cache it for good.
app.router.addGet("/assets", () =>
  web.jsonResponse({
    css: assets.urlFor({ filename: "css/site.css" }).toString(),
    page: app.router.named("static").urlFor({ filename: "index.html" }).toString(),
  }),
);

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
