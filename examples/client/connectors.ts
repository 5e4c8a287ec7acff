// Connectors (aiohttp advanced client usage, "Connectors"): the connection pool behind a
// session, its limits, its DNS cache, and one connector shared by several sessions.
//
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/client/connectors.ts

import { ClientSession, TCPConnector } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

// At most 3 connections at once across all hosts (100 by default; 0 for no limit). Requests
// beyond the limit wait for a free connection, they do not fail. `limitPerHost` bounds the
// connections to one host the same way (0, no limit, by default); resolved addresses are
// cached for `ttlDnsCache` ms.
const connector = new TCPConnector({ limit: 3, limitPerHost: 0, ttlDnsCache: 300_000 });

// Two sessions share the connector; connectorOwner: false means closing a session leaves the
// connector open, and it is closed once, by its owner, at the end.
const api = new ClientSession({ baseUrl: BASE_URL, connector, connectorOwner: false });
const other = new ClientSession({ baseUrl: BASE_URL, connector, connectorOwner: false });

let mostActive = 0;
const watch = setInterval(() => {
  mostActive = Math.max(mostActive, connector.active);
}, 5);

const started = Date.now();
const results = await Promise.all(
  Array.from({ length: 6 }, async (_, i) => {
    const session = i % 2 === 0 ? api : other;
    await using resp = await session.get("/delay/0.2");
    return resp.status;
  }),
);
clearInterval(watch);
console.log("statuses:", results.join(","));
// Six 200 ms requests, three at a time: two rounds.
console.log("took two rounds or more:", Date.now() - started >= 390);
console.log("most connections in use at once:", mostActive, "(limit", connector.limit, ")");

await api.close();
await other.close();
console.log("connector still open after the sessions closed:", !connector.closed);
await connector.close();
console.log("connector closed:", connector.closed);
