// Server-Sent Events: a counter that a browser's EventSource follows (the page at /), picking
// up after the last id it saw when it reconnects. Shutting the server down (Ctrl+C) ends the
// open streams, so it does not wait for the browsers to leave.
//
//   npx tsx examples/sse/server.ts
//   open http://127.0.0.1:8080/   or   curl -N http://127.0.0.1:8080/events

import { web } from "aiohttp-ts";

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>aiohttp-ts server-sent events</title></head>
<body>
<h1>Ticks</h1>
<ol id="ticks"></ol>
<script>
  // EventSource reconnects by itself and sends the last id it saw as Last-Event-ID.
  const source = new EventSource("/events");
  source.addEventListener("tick", (event) => {
    const { n, time } = JSON.parse(event.data);
    const item = document.createElement("li");
    item.textContent = "#" + n + " at " + time;
    document.getElementById("ticks").append(item);
  });
</script>
</body>
</html>
`;

const app = new web.Application();

app.router.addGet("/", () => new web.Response({ text: PAGE, contentType: "text/html" }));

app.router.addGet("/events", async (request) => {
  const interval = Math.min(
    Math.max(Number(request.query.get("interval") ?? 1000) || 1000, 10),
    60_000,
  );
  const sse = new web.EventSourceResponse({ ping: 15_000 });
  await sse.prepare(request);
  // A reconnecting browser says where it stopped; a new one starts at 1.
  let n = Number.parseInt(sse.lastEventId ?? "0", 10) || 0;
  const tick = (): void => {
    n += 1;
    const data = JSON.stringify({ n, time: new Date().toISOString() });
    // send() resolves to false once the stream has ended; the timer is cleared below then.
    void sse.send(data, { event: "tick", id: n });
  };
  tick();
  const timer = setInterval(tick, interval);
  // Until the browser leaves or the server shuts down.
  await sse.wait();
  clearInterval(timer);
  return sse;
});

web.runApp(app, { port: Number(process.env.PORT ?? 8080) });
