// Hono peer on @hono/node-server.
// Usage: node hono.mjs PORT

import { serve } from "@hono/node-server";
import { Hono } from "hono";

const port = Number(process.argv[2]);

const app = new Hono();
app.get("/hello/:name", (c) => c.text(`Hello, ${c.req.param("name")}`));
app.get("/json", (c) => c.json({ message: "Hello, World!" }));

serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
