// Graceful shutdown under load, in a process (issue 13, section 5): runApp gets SIGTERM while
// 200 requests (half of them uploads not read yet) and 200 WebSockets are in flight
// (test/fixtures/shutdown-server.ts). Every accepted request gets its whole response, every
// WebSocket 1001, new connections are refused, and the process exits 0 with no unhandled
// rejection.
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { httpSend, OutputLines, type ServerProcess, startServerProcess } from "../helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../fixtures/shutdown-server.ts", import.meta.url));
const REQUESTS = 200;
const SOCKETS = 200;
/** The size of each held response, KiB: several writes, all of them after the signal. */
const BODY_KIB = 64;
const EXPECTED_BODY = Array.from({ length: BODY_KIB }, (_, i) =>
  String.fromCharCode(97 + (i % 26)).repeat(1024),
).join("");

const UPLOAD = { method: "POST", body: Buffer.alloc(64 * 1024, "upload ") };

/** An open WebSocket to the fixture's echo route, and the close code it will get. */
interface OpenSocket {
  ws: WebSocket;
  closeCode: Promise<number>;
}

/** Opens a WebSocket to /ws and waits for one echo, so that its handler is in its loop. */
async function openSocket(port: number): Promise<OpenSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const closeCode = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  await once(ws, "open");
  const echoed = once(ws, "message");
  ws.send("ping");
  expect(String((await echoed)[0])).toBe("ping");
  return { ws, closeCode };
}

let server: ServerProcess | null = null;
afterEach(() => {
  server?.kill();
  server = null;
});

describe("SIGTERM under load", () => {
  it("finishes every accepted request, closes every WebSocket with 1001, refuses new connections and exits 0", async () => {
    const running = await startServerProcess(["--import", "tsx", FIXTURE], {
      cwd: ROOT,
      env: { BODY_KIB: String(BODY_KIB) },
    });
    server = running;
    const stdout = new OutputLines(running.child.stdout);
    const port = Number(new URL(running.baseUrl).port);

    // Half of them uploads a body that the handler reads only after the signal.
    const replies = Promise.allSettled(
      Array.from({ length: REQUESTS }, (_, i) =>
        i % 2 === 0 ? httpSend(port, "/hold") : httpSend(port, "/hold", UPLOAD),
      ),
    );
    const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => openSocket(port)));
    await stdout.waitFor(/^held$/, REQUESTS);

    const exited = once(running.child, "exit") as Promise<[number | null, string | null]>;
    running.child.kill("SIGTERM");
    // The listening socket closes before onShutdown runs.
    await stdout.waitFor(/^shutdown begun$/);
    await expect(httpSend(port, "/hold")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await expect(openSocket(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });

    // The WebSockets close while the requests are still held: shutdown does not wait for them.
    const codes = await Promise.all(sockets.map((s) => s.closeCode));
    expect(codes).toEqual(Array(SOCKETS).fill(1001));

    process.kill(running.child.pid as number, "SIGUSR2");
    const settled = await replies;
    const failed = settled.filter((r) => r.status === "rejected");
    expect(failed).toEqual([]);
    for (const r of settled) {
      if (r.status !== "fulfilled") continue;
      expect(r.value.status).toBe(200);
      expect(r.value.headers.connection).toBe("close");
      expect(r.value.body.length).toBe(EXPECTED_BODY.length);
      expect(r.value.body === EXPECTED_BODY).toBe(true);
    }

    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stdout.matching(/^(runApp returned|faults \d+)$/).map((l) => l.text)).toEqual([
      "runApp returned",
      "faults 0",
    ]);
  });
});
