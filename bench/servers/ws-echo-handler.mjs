// The echo handler of our WebSocket peers (ws-aiohttp-ts.mjs, idle-aiohttp-ts.mjs): what a
// user would write, on the BUILT package. compress keeps its default (true).

import { WSMsgType, web } from "aiohttp-ts";

export async function echo(request) {
  const ws = new web.WebSocketResponse();
  await ws.prepare(request);
  for await (const msg of ws) {
    if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
    else if (msg.type === WSMsgType.BINARY) await ws.sendBytes(msg.data);
  }
  return ws;
}
