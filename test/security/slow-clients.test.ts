// Slow clients (slowloris): connections that drip their headers or body, or send nothing, are
// cut by the server's timeouts (408 and close), while another client keeps being answered
// quickly. The timeouts are made short here; their defaults are in docs/security.md.

import { connect as connectH2, constants } from "node:http2";
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { getRequest, quiet, RawConnection, rawExchange, useRunners } from "../helpers.js";
import { statusesIn } from "./corpus.js";
import { RawH2 } from "./h2-frames.js";

const start = useRunners();

const LIMITS = { headersTimeout: 500, requestTimeout: 1000, keepaliveTimeout: 500 };
const ATTACKERS = 50;
/** Bound on a well-behaved client's latency during an attack, on a busy 2-core machine. */
const RESPONSIVE_MS = 1000;

async function serve(http2?: "h2c") {
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/", () => new web.Response({ text: "ok" }));
  app.router.addPost(
    "/upload",
    async (req) => new web.Response({ text: `${(await req.read()).length}` }),
  );
  if (http2 === undefined) return start(app, { accessLog: null, ...LIMITS });
  return start(app, { accessLog: null, ...LIMITS, http2 });
}

/**
 * Opens `ATTACKERS` connections that write `head` and then one byte of `drip` every 20 ms
 * until the server closes them; resolves with each connection once all are closed.
 */
async function attack(port: number, head: string, drip: string): Promise<RawConnection[]> {
  const conns = await Promise.all(
    Array.from({ length: ATTACKERS }, () => RawConnection.open(port)),
  );
  for (const conn of conns) conn.write(head);
  let at = 0;
  const timer = setInterval(() => {
    const byte = drip[at++ % drip.length] as string;
    for (const conn of conns) if (!conn.socket.destroyed) conn.write(byte);
  }, 20);
  try {
    await Promise.all(conns.map((c) => c.closed));
  } finally {
    clearInterval(timer);
  }
  return conns;
}

/** Requests `/` one after another until `until` settles; returns the slowest latency. */
async function latencyDuring(port: number, until: Promise<unknown>): Promise<number> {
  let over = false;
  void until.finally(() => {
    over = true;
  });
  let slowest = 0;
  let requests = 0;
  while (!over || requests === 0) {
    const t0 = performance.now();
    const reply = await rawExchange(port, getRequest("/"), { requireClose: true });
    expect(reply.statusLine).toBe("HTTP/1.1 200 OK");
    slowest = Math.max(slowest, performance.now() - t0);
    requests++;
  }
  return slowest;
}

describe("slowloris over HTTP/1.1: cut by timeouts, others served", () => {
  it("50 connections dripping header bytes each get 408 and are closed", async () => {
    const { port } = await serve();
    const attacked = attack(port, "GET / HTTP/1.1\r\nHost: x\r\n", "X-Drip: aaaaaaaaa\r\n");
    const slowest = await latencyDuring(port, attacked);
    for (const conn of await attacked) expect(statusesIn(conn.data)).toEqual([408]);
    expect(slowest).toBeLessThan(RESPONSIVE_MS);
  });

  it("50 slow uploads dripping body bytes each get 408 and are closed", async () => {
    const { port } = await serve();
    const head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    const attacked = attack(port, head, "a");
    const slowest = await latencyDuring(port, attacked);
    for (const conn of await attacked) expect(statusesIn(conn.data)).toEqual([408]);
    expect(slowest).toBeLessThan(RESPONSIVE_MS);
  });

  it("50 slow chunked uploads each get 408 and are closed", async () => {
    const { port } = await serve();
    const head = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const attacked = attack(port, head, "1\r\na\r\n");
    const slowest = await latencyDuring(port, attacked);
    for (const conn of await attacked) expect(statusesIn(conn.data)).toEqual([408]);
    expect(slowest).toBeLessThan(RESPONSIVE_MS);
  });

  it("50 connections that never send a byte are closed without an answer", async () => {
    const { port } = await serve();
    const conns = await Promise.all(
      Array.from({ length: ATTACKERS }, () => RawConnection.open(port)),
    );
    const slowest = await latencyDuring(port, Promise.all(conns.map((c) => c.closed)));
    // node:http counts an idle first request against headersTimeout too: 408 or nothing.
    for (const conn of conns) expect([[], [408]]).toContainEqual(statusesIn(conn.data));
    expect(slowest).toBeLessThan(RESPONSIVE_MS);
  });
});

describe("slow clients over HTTP/2 (h2c)", () => {
  it("a connection that opens no stream is closed after keepaliveTimeout (GOAWAY NO_ERROR)", async () => {
    const { port } = await serve("h2c");
    const conn = new RawH2(port);
    await conn.closed;
    expect(conn.goaway).toBe(0);
  });

  it("an upload still arriving after requestTimeout is reset; the connection serves others", async () => {
    const { port } = await serve("h2c");
    const session = connectH2(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    try {
      const upload = session.request({ ":method": "POST", ":path": "/upload" });
      upload.on("error", () => {});
      upload.write("a");
      const code = await new Promise<number>((resolve) =>
        upload.once("close", () => resolve(upload.rstCode ?? -1)),
      );
      expect(code).toBe(constants.NGHTTP2_CANCEL);
      // The same connection still answers.
      const again = session.request({ ":path": "/" });
      let body = "";
      again.setEncoding("utf8");
      for await (const chunk of again) body += chunk as string;
      expect(body).toBe("ok");
    } finally {
      session.destroy();
    }
  });
});
