// Koa peer. Koa has no router of its own (that is @koa/router, not installed), so one middleware
// dispatches the two routes, as a small Koa app without a router would.
// Usage: node koa.mjs PORT

import Koa from "koa";

const port = Number(process.argv[2]);
const HELLO = /^\/hello\/([^/]+)$/;

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method !== "GET" && ctx.method !== "HEAD") return;
  if (ctx.path === "/json") {
    ctx.body = { message: "Hello, World!" };
    return;
  }
  const m = HELLO.exec(ctx.path);
  if (m !== null) ctx.body = `Hello, ${decodeURIComponent(m[1])}`;
});

app.listen(port, "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
