// Fastify peer, default options (no logger, no response schema: JSON.stringify like the others).
// Usage: node fastify.mjs PORT

import Fastify from "fastify";

const port = Number(process.argv[2]);

const app = Fastify({ logger: false });
app.get("/hello/:name", async (request) => `Hello, ${request.params.name}`);
app.get("/json", async () => ({ message: "Hello, World!" }));

await app.listen({ port, host: "127.0.0.1" });
console.log("READY");
process.on("SIGTERM", () => process.exit(0));
