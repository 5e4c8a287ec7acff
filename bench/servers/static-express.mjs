// Static files, Express 5 peer: express.static (serve-static) with its defaults.
// Usage: node static-express.mjs PORT DIRECTORY

import express from "express";

const [, , port, directory] = process.argv;

const app = express();
app.use("/static", express.static(directory));

app.listen(Number(port), "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
