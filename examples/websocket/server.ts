// WebSockets on the server: an echo endpoint, a chat room that broadcasts every message to its
// members, and a page that joins the chat room with the browser's own WebSocket API.
//
//   npx tsx examples/websocket/server.ts
//   open http://127.0.0.1:8080/ in two browser tabs, or run examples/websocket/client.ts
//
// On Ctrl+C (or SIGTERM) the graceful shutdown closes every open WebSocket with 1001 "Server
// shutdown" by itself; the chat room needs no shutdown code of its own.

import { WSMsgType, web } from "aiohttp-ts";

/** The chat room's open WebSockets; each handler adds its own and removes it when it ends. */
const membersKey = new web.AppKey<Set<web.WebSocketResponse>>("members");

/** Sends back every text and binary message; the text "close" ends the conversation. */
async function echo(request: web.Request): Promise<web.WebSocketResponse> {
  const ws = new web.WebSocketResponse({ heartbeat: 30_000 });
  await ws.prepare(request);
  for await (const msg of ws) {
    if (msg.type === WSMsgType.TEXT) {
      if (msg.data === "close") await ws.close({ message: "closed on request" });
      else await ws.sendStr(msg.data);
    } else if (msg.type === WSMsgType.BINARY) {
      await ws.sendBytes(msg.data);
    } else if (msg.type === WSMsgType.ERROR) {
      console.error("echo: connection failed:", msg.data.message);
    }
  }
  // Returning the WebSocket closes it (1000) if the handler did not.
  return ws;
}

/** Sends one JSON event to every member; a member that is closing just misses it. */
async function broadcast(members: Set<web.WebSocketResponse>, event: object): Promise<void> {
  const text = JSON.stringify(event);
  await Promise.allSettled([...members].map((member) => member.sendStr(text)));
}

/** The chat room: `/chat?name=alice`; every text message goes to every member as JSON. */
async function chat(request: web.Request): Promise<web.WebSocketResponse> {
  const name = request.query.get("name") || "anonymous";
  const ws = new web.WebSocketResponse({ heartbeat: 30_000 });
  await ws.prepare(request);
  const members = request.app.require(membersKey);
  members.add(ws);
  try {
    await broadcast(members, { event: "join", name });
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT)
        await broadcast(members, { event: "say", name, text: msg.data });
    }
  } finally {
    members.delete(ws);
  }
  await broadcast(members, { event: "leave", name });
  return ws;
}

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>aiohttp-ts chat</title></head>
<body>
  <h1>Chat</h1>
  <form id="form"><input id="text" autocomplete="off" autofocus> <button>Send</button></form>
  <ul id="log"></ul>
  <script>
    const log = document.getElementById("log");
    const show = (line) => {
      const item = document.createElement("li");
      item.textContent = line;
      log.append(item);
    };
    const url = new URL("/chat", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("name", "guest-" + Math.floor(Math.random() * 1000));
    const socket = new WebSocket(url);
    socket.addEventListener("message", (event) => {
      const e = JSON.parse(event.data);
      show(e.event === "say" ? e.name + ": " + e.text : e.name + " " + e.event + "s");
    });
    socket.addEventListener("close", (event) => show("closed: " + event.code + " " + event.reason));
    document.getElementById("form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("text");
      socket.send(input.value);
      input.value = "";
    });
  </script>
</body>
</html>
`;

const app = new web.Application();
app.set(membersKey, new Set());
app.router.addGet("/", () => new web.Response({ text: PAGE, contentType: "text/html" }));
app.router.addGet("/echo", echo);
app.router.addGet("/chat", chat);

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
