// A real browser's WebSocket (Debian's headless Chromium, driven by playwright-core) talks to an
// aiohttp-ts WebSocketResponse: the page (ws-page.html) comes from our app, and its sockets go
// back to the same origin. Both ends must agree on messages, extensions, subprotocols, close
// codes, and the cookies the page set must reach the upgrade request.

import { describe, expect, test } from "vitest";
import { type WSMessage, WSMsgType, web } from "../../src/index.js";
import { hasPeer } from "../peers.js";
import { useChromiumPage } from "./chromium.js";
import { Reports } from "./helpers.js";

const peersMissing = !hasPeer("chromium");

const PAGE_HTML = new URL("./ws-page.html", import.meta.url);
/** How long a step in the page, or a report from the handler, may take. */
const STEP_TIMEOUT_MS = 3_000;

/** A browser CloseEvent, as the page reports it. */
interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** A message the page received. */
type PageMessage =
  | { kind: "text"; text: string }
  | { kind: "binary"; arrayBuffer: boolean; bytes: number[] };

/** What ws-page.html offers as `window.wsPage`; sockets are named by the test's id. */
interface PageApi {
  open(
    id: string,
    query: Record<string, string>,
    protocols: string[],
  ): Promise<{ protocol: string; extensions: string }>;
  sendText(id: string, text: string): void;
  sendBytes(id: string, bytes: number[]): void;
  next(id: string): Promise<PageMessage>;
  close(id: string, code: number, reason: string): Promise<CloseInfo>;
  closed(id: string): Promise<CloseInfo>;
}

/** What the `/ws` handler saw, filed when its connection ended. */
interface Sighting {
  protocol: string | null;
  compress: boolean;
  received: Array<{ type: "text" | "bytes"; length: number }>;
  closeMessage: { code: number; reason: string } | null;
  closeCode: number | null;
  closedByUs: boolean | null;
}

let idCounter = 0;
/** A fresh socket id; the handler files what it saw under it. */
function nextId(): string {
  idCounter += 1;
  return `b${idCounter}`;
}

/**
 * The app: the page at `/`, and `/ws`, which upgrades (subprotocol "chat" on offer), does
 * what `?mode=` asks (`json`: answers one JSON message; `close`: closes with `?code=` and
 * `?reason=`), then echoes until the browser closes. A middleware notes the cookies of every
 * request to `/ws`.
 */
function makeApp(
  html: string,
  sightings: Reports<Sighting>,
  cookies: Reports<Record<string, string>>,
): web.Application {
  const cookieWitness: web.Middleware = (request, handler) => {
    if (request.path === "/ws") cookies.file(request.query.get("id") ?? "", { ...request.cookies });
    return handler(request);
  };
  const app = new web.Application({ middlewares: [cookieWitness] });
  app.router.addGet("/", () => new web.Response({ text: html, contentType: "text/html" }));
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse({ protocols: ["chat"] });
    await ws.prepare(request);
    const sighting: Sighting = {
      protocol: ws.protocol,
      compress: ws.compress,
      received: [],
      closeMessage: null,
      closeCode: null,
      closedByUs: null,
    };
    try {
      const mode = request.query.get("mode");
      if (mode === "json") {
        const value = await ws.receiveJson<{ numbers: number[] }>();
        await ws.sendJson({ received: value, sum: value.numbers.reduce((a, b) => a + b, 0) });
      } else if (mode === "close") {
        sighting.closedByUs = await ws.close({
          code: Number(request.query.get("code")),
          message: request.query.get("reason") ?? "",
        });
      }
      while (!ws.closed) {
        const msg: WSMessage = await ws.receive();
        if (msg.type === WSMsgType.TEXT) {
          sighting.received.push({ type: "text", length: msg.data.length });
          await ws.sendStr(msg.data);
        } else if (msg.type === WSMsgType.BINARY) {
          sighting.received.push({ type: "bytes", length: msg.data.length });
          await ws.sendBytes(msg.data);
        } else if (msg.type === WSMsgType.CLOSE) {
          sighting.closeMessage = { code: msg.data, reason: msg.extra };
        }
      }
    } finally {
      sighting.closeCode = ws.closeCode;
      sightings.file(request.query.get("id") ?? "", sighting);
    }
    return ws;
  });
  return app;
}

/** Fails a step that hangs, so that a broken exchange fails fast with a clear message. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish in ${STEP_TIMEOUT_MS} ms`)),
      STEP_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(peersMissing)("Chromium's WebSocket talks to our WebSocketResponse", () => {
  const sightings = new Reports<Sighting>((id) => `the /ws handler of socket ${id}`);
  const cookies = new Reports<Record<string, string>>((id) => `the upgrade request of ${id}`);
  const page = useChromiumPage(PAGE_HTML, (html) => makeApp(html, sightings, cookies));

  /** Calls `window.wsPage[name](...args)` in the page. */
  function call<K extends keyof PageApi>(
    name: K,
    ...args: Parameters<PageApi[K]>
  ): Promise<Awaited<ReturnType<PageApi[K]>>> {
    const result = page().evaluate(
      ([fn, fnArgs]) => {
        // Runs in the page, where ws-page.html defined wsPage.
        const api = (
          globalThis as unknown as { wsPage: Record<string, (...a: unknown[]) => unknown> }
        ).wsPage;
        return api[fn]?.(...fnArgs);
      },
      [name, args] as [string, unknown[]],
    );
    return within(`wsPage.${name}()`, result as Promise<Awaited<ReturnType<PageApi[K]>>>);
  }

  test("the page's subprotocol is agreed on both sides", async () => {
    const id = nextId();
    const opened = await call("open", id, {}, ["chat"]);
    expect(opened.protocol).toBe("chat");
    await call("close", id, 1000, "");
    expect((await sightings.take(id, STEP_TIMEOUT_MS)).protocol).toBe("chat");
  });

  test("permessage-deflate offered by Chromium is agreed on both sides", async () => {
    const id = nextId();
    const opened = await call("open", id, {}, ["chat"]);
    expect(opened.extensions).toMatch(/^permessage-deflate/);
    const text = "Chromium and aiohttp-ts agree on permessage-deflate. ".repeat(50);
    await call("sendText", id, text);
    expect(await call("next", id)).toEqual({ kind: "text", text });
    await call("close", id, 1000, "");
    expect((await sightings.take(id, STEP_TIMEOUT_MS)).compress).toBe(true);
  });

  test("a text message comes back as the same text", async () => {
    const id = nextId();
    await call("open", id, {}, ["chat"]);
    await call("sendText", id, "hello zoë ✓ 👋");
    expect(await call("next", id)).toEqual({ kind: "text", text: "hello zoë ✓ 👋" });
    await call("close", id, 1000, "");
  });

  test("an ArrayBuffer comes back as an ArrayBuffer with the same bytes", async () => {
    const id = nextId();
    const bytes = Array.from({ length: 512 }, (_, i) => i & 0xff);
    await call("open", id, {}, ["chat"]);
    await call("sendBytes", id, bytes);
    expect(await call("next", id)).toEqual({ kind: "binary", arrayBuffer: true, bytes });
    await call("close", id, 1000, "");
    expect((await sightings.take(id, STEP_TIMEOUT_MS)).received).toEqual([
      { type: "bytes", length: 512 },
    ]);
  });

  test("JSON from the page is parsed by receiveJson and answered by sendJson", async () => {
    const id = nextId();
    await call("open", id, { mode: "json" }, ["chat"]);
    await call("sendText", id, JSON.stringify({ numbers: [1, 2, 3.5], name: "zoë" }));
    const reply = await call("next", id);
    expect(reply.kind).toBe("text");
    expect(JSON.parse(reply.kind === "text" ? reply.text : "")).toEqual({
      received: { numbers: [1, 2, 3.5], name: "zoë" },
      sum: 6.5,
    });
    await call("close", id, 1000, "");
  });

  test("a 256 KiB message crosses intact both ways", async () => {
    const id = nextId();
    // Varied enough not to be one repeated byte, so the content is really compared.
    const text = Array.from({ length: 256 * 1024 }, (_, i) =>
      String.fromCharCode(97 + ((i * 7) % 26)),
    ).join("");
    await call("open", id, {}, ["chat"]);
    await call("sendText", id, text);
    const reply = await call("next", id);
    expect(reply.kind === "text" && reply.text === text).toBe(true);
    await call("close", id, 1000, "");
    expect((await sightings.take(id, STEP_TIMEOUT_MS)).received).toEqual([
      { type: "text", length: 256 * 1024 },
    ]);
  });

  test("close 4000 with a reason from the page reaches the handler as CLOSE", async () => {
    const id = nextId();
    await call("open", id, {}, ["chat"]);
    const closed = await call("close", id, 4000, "bye from chromium");
    // Our side answers with the page's own code and reason.
    expect(closed).toEqual({ code: 4000, reason: "bye from chromium", wasClean: true });
    const seen = await sightings.take(id, STEP_TIMEOUT_MS);
    expect(seen.closeMessage).toEqual({ code: 4000, reason: "bye from chromium" });
    expect(seen.closeCode).toBe(4000);
  });

  test("close 4001 from the handler reaches the page's CloseEvent", async () => {
    const id = nextId();
    await call("open", id, { mode: "close", code: "4001", reason: "server says bye" }, ["chat"]);
    expect(await call("closed", id)).toEqual({
      code: 4001,
      reason: "server says bye",
      wasClean: true,
    });
    const seen = await sightings.take(id, STEP_TIMEOUT_MS);
    expect(seen.closedByUs).toBe(true);
    expect(seen.closeCode).toBe(4001);
  });

  test("a cookie set by the page with document.cookie reaches a middleware on the upgrade", async () => {
    const id = nextId();
    await within(
      "setting document.cookie",
      page().evaluate(() => {
        (globalThis as unknown as { document: { cookie: string } }).document.cookie =
          "flavour=chocolate; path=/";
      }),
    );
    await call("open", id, {}, ["chat"]);
    await call("close", id, 1000, "");
    expect(await cookies.take(id, STEP_TIMEOUT_MS)).toEqual({ flavour: "chocolate" });
  });
});
