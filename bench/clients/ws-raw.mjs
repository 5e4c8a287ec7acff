// The raw `ws` client: the WebSocket bench's baseline client, and the load generator of its
// server side. No permessage-deflate, so no server compresses.
import { once } from "node:events";
import { WebSocket } from "ws";
import { run } from "./ws-harness.mjs";

await run(({ url }) => ({
  connect: () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      /** The round trip waiting for its echo. */
      let waiting = null;
      const settle = (fn, value) => {
        const w = waiting;
        waiting = null;
        w?.[fn](value);
      };
      ws.on("message", (data, isBinary) => settle("resolve", isBinary ? data : data.toString()));
      ws.on("close", (code) => settle("reject", new Error(`closed with ${code}`)));
      ws.on("error", (err) => {
        settle("reject", err);
        reject(err);
      });
      ws.once("open", () =>
        resolve({
          roundTrip: (payload) =>
            new Promise((res, rej) => {
              waiting = { resolve: res, reject: rej };
              ws.send(payload);
            }),
          close: () => {
            ws.close();
            return once(ws, "close");
          },
        }),
      );
    }),
}));
