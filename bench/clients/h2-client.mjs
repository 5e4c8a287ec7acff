// HTTP/2 client run: `count` GETs to `url` with `inFlight` in flight, by our ClientSession (the
// BUILT package) or undici's Agent with allowH2; prints {"seconds": ...} as one JSON line.
// Usage: node h2-client.mjs aiohttp-ts|undici URL CA_FILE COUNT IN_FLIGHT

import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { ClientSession } from "../../dist/index.js";

const [kind, url, caFile, countArg, inFlightArg] = process.argv.slice(2);
const ca = readFileSync(caFile);
const count = Number(countArg);
const inFlight = Number(inFlightArg);

function ours() {
  const session = new ClientSession({ http2: true, ssl: { ca } });
  return {
    async send() {
      const resp = await session.get(url);
      const text = await resp.text();
      if (resp.status !== 200 || resp.version.major !== 2)
        throw new Error(`bad response ${resp.status}`);
      return text;
    },
    close: () => session.close(),
  };
}

function theirs() {
  // One connection carrying up to 100 streams, as ours does: with its default `pipelining: 1`
  // undici runs one request per h2 connection and opens one connection per request in flight.
  const dispatcher = new Agent({ allowH2: true, connections: 1, pipelining: 100, connect: { ca } });
  return {
    async send() {
      const { statusCode, body } = await request(url, { dispatcher });
      const text = await body.text();
      if (statusCode !== 200) throw new Error(`status ${statusCode}`);
      return text;
    },
    close: () => dispatcher.close(),
  };
}

const client = kind === "undici" ? theirs() : ours();
async function batch(n) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await client.send();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
}

await batch(Math.min(1000, count)); // warm-up: connection, JIT
const start = process.hrtime.bigint();
await batch(count);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
await client.close();
console.log(JSON.stringify({ seconds }));
