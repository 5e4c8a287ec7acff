// Express 5 peer, default settings (ETag and X-Powered-By stay on, as users get them). A string
// is sent as text/plain, like the other peers, rather than Express's default text/html.
// Usage: node express.mjs PORT

import express from "express";

const port = Number(process.argv[2]);

const app = express();
app.get("/hello/:name", (req, res) => {
  res.type("text/plain").send(`Hello, ${req.params.name}`);
});
app.get("/json", (_req, res) => {
  res.json({ message: "Hello, World!" });
});

app.listen(port, "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
