// Ours: ClientSession.wsConnect from the BUILT package (dist/, imported by name), run with
// plain node. compress keeps its default (false).
import { ClientSession, WSMsgType } from "aiohttp-ts";
import { run } from "./ws-harness.mjs";

await run(({ url, binary }) => {
  const session = new ClientSession();
  const expected = binary ? WSMsgType.BINARY : WSMsgType.TEXT;
  return {
    async connect() {
      const ws = await session.wsConnect(url);
      return {
        async roundTrip(payload) {
          await (binary ? ws.sendBytes(payload) : ws.sendStr(payload));
          const msg = await ws.receive();
          if (msg.type !== expected) throw new Error(`expected ${expected}, got ${msg.type}`);
          return msg.data;
        },
        close: () => ws.close(),
      };
    },
    close: () => session.close(),
  };
});
