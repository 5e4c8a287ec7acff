// Static files, Fastify peer: @fastify/static with its defaults (ETag, Last-Modified,
// Cache-Control and Accept-Ranges on, as users get them).
// Usage: node static-fastify.mjs PORT DIRECTORY

import fastifyStatic from "@fastify/static";
import Fastify from "fastify";

const [, , port, directory] = process.argv;

const app = Fastify({ logger: false });
await app.register(fastifyStatic, { root: directory, prefix: "/static/" });

await app.listen({ port: Number(port), host: "127.0.0.1" });
console.log("READY");
process.on("SIGTERM", () => process.exit(0));
