// A 1 GiB streamed body to a client that reads slowly: the handler's `await resp.write()` is
// held back by the socket, so the server's memory stays bounded whatever the body's size, with
// and without compression. The server runs in this process; its memory is what is measured.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { describe, expect, it, vi } from "vitest";
import { web } from "../../src/index.js";
import { appWith, getRequest, useTestClients } from "../helpers.js";

const serve = useTestClients();

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const TOTAL_CHUNKS = (1024 * MiB) / CHUNK; // 1 GiB
/** Bytes the client reads in each slow sip, and how many sips. */
const SIP = 4 * MiB;
const SIPS = 8;
/** What may sit between the handler and the client: kernel socket buffers on both ends. */
const IN_TRANSIT_MAX = 16 * MiB;
/**
 * What Node's buffer may hold once a write() resolved: under its 16 KiB mark plus the piece
 * just written (64 KiB, compressed or not, for random bytes).
 */
const QUEUED_MAX = 128 * 1024;
const GROWTH_MAX = 64 * MiB;

/** Memory that a body piling up in the server would grow: JS heap and Buffers. */
function memoryNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** What the handler has done, read by the test while the client holds back. */
interface Progress {
  written: number;
  /** A write() is waiting. */
  waiting: boolean;
  /** The most Node's own buffer held after a write() resolved. */
  maxQueued: number;
  res: ServerResponse | null;
  /** How the handler ended: "done", or the class of the error its write threw. */
  outcome: Promise<string>;
}

/** A handler writing a 1 GiB body of 64 KiB pieces, each awaited. */
function oneGibHandler(progress: Progress, compress: boolean): web.Handler {
  let settle!: (outcome: string) => void;
  progress.outcome = new Promise((resolve) => {
    settle = resolve;
  });
  // Random bytes do not compress (and deflate's 32 KiB window cannot see the 64 KiB repeats),
  // so with compression as without, a full gigabyte would have to go somewhere.
  const chunk = randomBytes(CHUNK);
  return async (request) => {
    const resp = new web.StreamResponse({
      headers: { "Content-Type": "application/octet-stream" },
    });
    if (compress) resp.enableCompression("gzip");
    await resp.prepare(request);
    progress.res = request.rawResponse;
    try {
      for (let i = 0; i < TOTAL_CHUNKS; i++) {
        progress.waiting = true;
        await resp.write(chunk);
        progress.waiting = false;
        progress.written = resp.bodyLength;
        progress.maxQueued = Math.max(progress.maxQueued, request.rawResponse.writableLength);
      }
      await resp.writeEof();
      settle("done");
    } catch (err) {
      settle((err as Error).name);
      throw err;
    }
    return resp;
  };
}

/** A raw client that reads only when told to. */
class SlowClient {
  readonly socket: Socket;
  received = 0;
  #target = 0;
  #reached: (() => void) | null = null;

  constructor(port: number, extraHeaders: string) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("error", () => {});
    this.socket.pause();
    this.socket.on("data", (data: Buffer) => {
      this.received += data.length;
      if (this.received >= this.#target && this.#reached !== null) {
        this.socket.pause();
        this.#reached();
        this.#reached = null;
      }
    });
    this.socket.write(getRequest("/", extraHeaders));
  }

  /** Reads `bytes` more, then stops reading. */
  sip(bytes: number): Promise<void> {
    this.#target = this.received + bytes;
    const reached = new Promise<void>((resolve) => {
      this.#reached = resolve;
    });
    this.socket.resume();
    return reached;
  }
}

/**
 * Waits until the handler's write() is held back by the socket (the client's and server's
 * kernel buffers are full and Node's own buffer is over its mark).
 */
async function heldBack(progress: Progress): Promise<void> {
  await vi.waitFor(
    () => {
      expect(progress.waiting).toBe(true);
      expect(progress.res?.writableNeedDrain).toBe(true);
    },
    { timeout: 20_000, interval: 5 },
  );
}

/**
 * Reads SIPS sips slowly, each time waiting until the server is held back again, and checks
 * that the server wrote only what the client read plus what the sockets hold, and that its
 * memory did not grow with what it was asked to write. Returns the peak memory growth.
 */
async function readSlowly(client: SlowClient, progress: Progress, base: number): Promise<number> {
  let peak = 0;
  for (let i = 0; i < SIPS; i++) {
    await heldBack(progress);
    peak = Math.max(peak, memoryNow() - base);
    expect(progress.written - client.received).toBeLessThan(IN_TRANSIT_MAX);
    expect(progress.maxQueued).toBeLessThan(QUEUED_MAX);
    await client.sip(SIP);
  }
  await heldBack(progress);
  peak = Math.max(peak, memoryNow() - base);
  expect(progress.written).toBeLessThan(client.received + IN_TRANSIT_MAX);
  expect(progress.written).toBeLessThan(TOTAL_CHUNKS * CHUNK);
  expect(progress.maxQueued).toBeLessThan(QUEUED_MAX);
  return peak;
}

function newProgress(): Progress {
  return { written: 0, waiting: false, maxQueued: 0, res: null, outcome: Promise.resolve("") };
}

describe("a 1 GiB streamed body to a slow reader", () => {
  it("the writes wait for the client and memory stays bounded; then all of it arrives", async () => {
    const progress = newProgress();
    const client = await serve(appWith(oneGibHandler(progress, false)));
    const base = memoryNow();
    const reader = new SlowClient(client.server.port, "");
    const peak = await readSlowly(reader, progress, base);
    expect(peak).toBeLessThan(GROWTH_MAX);

    // Then the client reads as fast as it can: the whole gigabyte (and the chunk framing).
    const closed = once(reader.socket, "close");
    reader.socket.resume();
    expect(await progress.outcome).toBe("done");
    await closed;
    expect(reader.received).toBeGreaterThan(TOTAL_CHUNKS * CHUNK);
  }, 60_000);

  it("with gzip: the writes wait for the client, and its leaving ends them", async () => {
    const progress = newProgress();
    const client = await serve(appWith(oneGibHandler(progress, true)));
    const base = memoryNow();
    const reader = new SlowClient(client.server.port, "Accept-Encoding: gzip\r\n");
    const peak = await readSlowly(reader, progress, base);
    expect(peak).toBeLessThan(GROWTH_MAX);

    // Compressing the rest would only measure zlib: the client leaves instead, and the
    // handler's pending write fails rather than waiting forever.
    reader.socket.destroy();
    expect(await progress.outcome).toBe("ClientDisconnectedError");
  }, 60_000);
});
