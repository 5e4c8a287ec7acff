// A real browser's EventSource (Debian's headless Chromium, driven by playwright-core) reads an
// aiohttp-ts EventSourceResponse: the page (sse-page.html) comes from our app and its
// EventSources go back to the same origin. Messages, multi-line data, named events, ids,
// reconnection with Last-Event-ID, keep-alive pings and compression must all come out as the
// HTML standard's parser sees them.

import { describe, expect, test } from "vitest";
import { web } from "../../src/index.js";
import { type Deferred, deferred } from "../helpers.js";
import { hasPeer } from "../peers.js";
import { useChromiumPage } from "./chromium.js";
import { Reports } from "./helpers.js";

const peersMissing = !hasPeer("chromium");

const PAGE_HTML = new URL("./sse-page.html", import.meta.url);
/** How long the handler's report of a connection may take. */
const REPORT_TIMEOUT_MS = 5_000;

/** An event as the page's EventSource dispatched it. */
interface SeenEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/** What `ssePage.listen` resolves with. */
interface Seen {
  events: SeenEvent[];
  opens: number;
  errors: number;
}

/** Options of `ssePage.listen` (see sse-page.html). */
interface ListenOptions {
  count: number;
  types?: string[];
  ackPath?: string;
}

/** What a `/compressed` stream's handler saw. */
interface CompressedReport {
  encoding: string | undefined;
  acked: boolean;
}

/**
 * The app: the page at `/` and the streams the tests open. `/resume` is a stream that can be
 * resumed: a first connection gets ids 1 to 3 and the stream ends (retry: 100 ms); a
 * reconnection continues after its Last-Event-ID.
 */
function makeApp(
  html: string,
  resumes: Reports<Array<string | undefined>>,
  compressed: Reports<CompressedReport>,
): web.Application {
  const app = new web.Application();
  const r = app.router;
  r.addGet("/", () => new web.Response({ text: html, contentType: "text/html" }));

  r.addGet("/events", async (request) => {
    const sse = new web.EventSourceResponse({ ping: 5 });
    await sse.prepare(request);
    await sse.send("hello");
    await sse.send("line one\nline two\r\nline three");
    await sse.send("named data", { event: "custom" });
    await sse.send("with an id", { id: "x1" });
    await sse.send("keeps the id");
    await sse.wait();
    return sse;
  });

  const lastIds = new Map<string, Array<string | undefined>>();
  r.addGet("/resume", async (request) => {
    const name = request.query.get("name") ?? "";
    const sse = new web.EventSourceResponse();
    await sse.prepare(request);
    const seen = lastIds.get(name) ?? [];
    lastIds.set(name, seen);
    seen.push(sse.lastEventId);
    const after = Number(sse.lastEventId ?? "0");
    if (after < 3) {
      for (let id = after + 1; id <= 3; id++) {
        await sse.send(`event ${id}`, { id, ...(id === 3 ? { retry: 100 } : {}) });
      }
      // Returning ends this stream: the browser reconnects after the retry delay.
      return sse;
    }
    resumes.file(name, [...seen]);
    for (let id = after + 1; id <= after + 2; id++) await sse.send(`event ${id}`, { id });
    await sse.wait();
    return sse;
  });

  const acks = new Map<string, Deferred<void>>();
  const ackOf = (name: string): Deferred<void> => {
    const found = acks.get(name) ?? deferred();
    acks.set(name, found);
    return found;
  };
  r.addGet("/compressed", async (request) => {
    const name = request.query.get("name") ?? "";
    const sse = new web.EventSourceResponse({ ping: null });
    sse.enableCompression();
    await sse.prepare(request);
    await sse.send("first");
    // The browser acknowledges the first event before the second is sent: a compressor that
    // held it back would stall here until the timeout.
    await Promise.race([ackOf(name).promise, sse.wait()]);
    await sse.send("second");
    compressed.file(name, { encoding: sse.headers.get("Content-Encoding"), acked: true });
    await sse.wait();
    return sse;
  });
  r.addGet("/ack", (request) => {
    if (request.query.get("n") === "1") ackOf(request.query.get("name") ?? "").resolve();
    return new web.Response({ status: 204 });
  });
  return app;
}

describe.skipIf(peersMissing)("Chromium's EventSource reads our EventSourceResponse", () => {
  const resumes = new Reports<Array<string | undefined>>((name) => `the resumed stream ${name}`);
  const compressed = new Reports<CompressedReport>((name) => `the compressed stream ${name}`);
  const page = useChromiumPage(PAGE_HTML, (html) => makeApp(html, resumes, compressed));

  /** Calls `window.ssePage.listen(path, options)` in the page. */
  function listen(path: string, options: ListenOptions): Promise<Seen> {
    return page().evaluate(
      ([p, o]) => {
        // Runs in the page, where sse-page.html defined ssePage.
        const api = (
          globalThis as unknown as {
            ssePage: { listen(path: string, options: ListenOptions): Promise<Seen> };
          }
        ).ssePage;
        return api.listen(p, o);
      },
      [path, options] as const,
    );
  }

  test("messages, multi-line data, named events and ids arrive as sent, pings unseen", async () => {
    const seen = await listen("/events", { count: 5, types: ["custom"] });
    expect(seen.opens).toBe(1);
    expect(seen.events).toEqual([
      { type: "message", data: "hello", lastEventId: "" },
      { type: "message", data: "line one\nline two\nline three", lastEventId: "" },
      { type: "custom", data: "named data", lastEventId: "" },
      { type: "message", data: "with an id", lastEventId: "x1" },
      { type: "message", data: "keeps the id", lastEventId: "x1" },
    ]);
  });

  test("after the stream ends, the browser reconnects with Last-Event-ID and resumes", async () => {
    const seen = await listen("/resume?name=r1", { count: 5 });
    expect(seen.events.map((e) => [e.data, e.lastEventId])).toEqual([
      ["event 1", "1"],
      ["event 2", "2"],
      ["event 3", "3"],
      ["event 4", "4"],
      ["event 5", "5"],
    ]);
    expect(seen.opens).toBe(2);
    // The server saw a first connection without the header, then Last-Event-ID: 3.
    expect(await resumes.take("r1", REPORT_TIMEOUT_MS)).toEqual([undefined, "3"]);
  });

  test("with compression, each event reaches the browser before the next is sent", async () => {
    const seen = await listen("/compressed?name=c1", { count: 2, ackPath: "/ack?name=c1" });
    expect(seen.events.map((e) => e.data)).toEqual(["first", "second"]);
    const report = await compressed.take("c1", REPORT_TIMEOUT_MS);
    // Chromium accepts br and gzip; enableCompression() picks br first.
    expect(report.encoding).toBe("br");
  });
});
