// Property: a WebSocket message of any size (0 to 256 KiB, across the 7-bit, 16-bit and 64-bit
// length encodings) and any content (text with astral code points, arbitrary binary) sent by
// our client comes back unchanged from our server's echo handler over a real socket, with and
// without permessage-deflate. One server and one connection per suite; numRuns stays small
// because each run moves up to a few hundred KiB each way.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientSession,
  type ClientWebSocketResponse,
  type WSMessage,
  WSMsgType,
  web,
} from "../../src/index.js";
import { quiet, useAppForAll } from "../helpers.js";

const MAX = 256 * 1024;

const port = useAppForAll(() => {
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/ws", async (request) => {
    const ws = new web.WebSocketResponse({ compress: request.query.get("compress") === "1" });
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) await ws.sendStr(msg.data);
      else if (msg.type === WSMsgType.BINARY) await ws.sendBytes(msg.data);
    }
    return ws;
  });
  return app;
});

// Lengths around each frame-length encoding boundary (125/126, 65535/65536) and anywhere else.
const size = fc.oneof(
  fc.constantFrom(0, 1, 125, 126, 127, 65_535, 65_536, 65_537, MAX),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: MAX }),
);

/** `n` bytes from a seeded xorshift: incompressible, so deflate does not shrink them away. */
function noise(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

// Binary: a random prefix (so short messages vary freely), then noise or a repeated pattern.
const binary = fc
  .record({
    head: fc.uint8Array({ maxLength: 64 }),
    size,
    seed: fc.integer(),
    repeat: fc.boolean(),
  })
  .map(({ head, size: n, seed, repeat }) => {
    const tail = repeat
      ? Buffer.alloc(Math.max(0, n - head.length), Buffer.from(head.length > 0 ? head : [0]))
      : noise(seed, Math.max(0, n - head.length));
    return Buffer.concat([Buffer.from(head), tail]).subarray(0, n);
  });

// Text: any code points (astral ones included, no lone surrogates: those are not UTF-8),
// repeated to about `size` UTF-16 units, and sliced on a code point boundary.
const text = fc
  .record({ piece: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), size })
  .map(({ piece, size: n }) => {
    const whole = piece.repeat(Math.ceil(n / piece.length) || 0);
    return Array.from(whole)
      .slice(0, Math.max(0, Math.floor(n / 2)))
      .join("");
  });

type Message = { kind: "text"; data: string } | { kind: "binary"; data: Buffer };
const message: fc.Arbitrary<Message> = fc.oneof(
  text.map((data) => ({ kind: "text" as const, data })),
  binary.map((data) => ({ kind: "binary" as const, data })),
);

function expectEcho(sent: Message, got: WSMessage): void {
  if (sent.kind === "text") {
    expect(got.type).toBe(WSMsgType.TEXT);
    if (got.type !== WSMsgType.TEXT) return;
    // Compared as code points: a mismatch in a 256 KiB string reads better this way.
    expect(got.data.length).toBe(sent.data.length);
    expect(got.data === sent.data).toBe(true);
  } else {
    expect(got.type).toBe(WSMsgType.BINARY);
    if (got.type !== WSMsgType.BINARY) return;
    expect(got.data.length).toBe(sent.data.length);
    expect(Buffer.from(got.data).equals(sent.data)).toBe(true);
  }
}

describe.each([
  { compress: false, label: "without compression" },
  { compress: true, label: "with permessage-deflate" },
])("WebSocket echo $label", ({ compress }) => {
  let session: ClientSession;
  let ws: ClientWebSocketResponse;

  beforeAll(async () => {
    session = new ClientSession();
    ws = await session.wsConnect(`ws://127.0.0.1:${port()}/ws?compress=${compress ? 1 : 0}`, {
      compress,
    });
    expect(ws.compress).toBe(compress);
  });

  afterAll(async () => {
    await ws?.close();
    await session?.close();
  });

  it("any sequence of text and binary messages comes back unchanged and in order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 3 }), async (messages) => {
        // All sent before any is read: the echoes must keep the order and the boundaries.
        await Promise.all(
          messages.map((m) => (m.kind === "text" ? ws.sendStr(m.data) : ws.sendBytes(m.data))),
        );
        for (const sent of messages) expectEcho(sent, await ws.receive(10_000));
      }),
      { numRuns: 40 },
    );
  });
});
