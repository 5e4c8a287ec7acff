// WebSockets from the client: text, JSON and binary messages with the echo endpoint of
// examples/websocket/server.ts, a close started by the server, a refused handshake, and two
// members of its chat room talking to each other.
//
//   npx tsx examples/websocket/server.ts &
//   BASE_URL=http://127.0.0.1:8080 npx tsx examples/websocket/client.ts

import { ClientSession, WSMsgType, WSServerHandshakeError, wsMsgTypeName } from "aiohttp-ts";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8080";

// The session's base URL, headers and cookies apply to the handshake as to any request; an
// http:// URL is fine, wsConnect speaks ws:// (or wss:// for https://) to it.
await using session = new ClientSession({ baseUrl: BASE_URL });

{
  // `await using` closes the WebSocket at the end of the block if it is still open.
  await using ws = await session.wsConnect("/echo");

  await ws.sendStr("hello");
  console.log("text:", await ws.receiveStr());

  await ws.sendJson({ question: "answer?", answer: 42 });
  const reply = await ws.receiveJson<{ answer: number }>();
  console.log("json:", reply.answer);

  await ws.sendBytes(new Uint8Array([1, 2, 3]));
  const bytes = await ws.receiveBytes();
  console.log("binary:", [...bytes].join(","), `(${bytes.length} bytes)`);

  // receive() returns any message: here, the server's close frame. After it, CLOSED.
  await ws.sendStr("close");
  const msg = await ws.receive();
  console.log(`server closed: ${wsMsgTypeName(msg.type)} ${msg.data} "${msg.extra}"`);
  console.log("then:", wsMsgTypeName((await ws.receive()).type), "closed:", ws.closed);
}

// A URL that answers with a page instead of switching protocols refuses the handshake.
try {
  await session.wsConnect("/");
} catch (err) {
  if (!(err instanceof WSServerHandshakeError)) throw err;
  console.log("refused:", err.status, err.headers?.get("Content-Type"));
}

// The chat room: every member receives every event, its own included.
{
  await using alice = await session.wsConnect("/chat", { params: { name: "alice" } });
  console.log("alice sees:", JSON.stringify(await alice.receiveJson()));
  await using bob = await session.wsConnect("/chat", { params: { name: "bob" } });
  console.log("bob sees:", JSON.stringify(await bob.receiveJson()));
  console.log("alice sees:", JSON.stringify(await alice.receiveJson()));

  await alice.sendStr("hi bob");
  console.log("bob sees:", JSON.stringify(await bob.receiveJson()));

  // bob leaves; alice is told, then reads on with `for await` until she closes.
  await bob.close();
  for await (const event of alice) {
    if (event.type !== WSMsgType.TEXT) continue;
    console.log("alice sees:", event.data);
    const parsed = event.json<{ event: string }>();
    if (parsed.event === "leave") await alice.close();
  }
  console.log("alice closed with", alice.closeCode, "bob closed with", bob.closeCode);
}
