// The shared WebSocket message model: type and close-code values, the discriminated union,
// and json() on each kind.

import { describe, expect, expectTypeOf, it } from "vitest";
import {
  WSCloseCode,
  type WSMessage,
  WSMessageTypeError,
  WSMsgType,
  wsMessage,
} from "../../src/index.js";

describe("WSMsgType and WSCloseCode", () => {
  it("message types carry RFC 6455 opcodes and aiohttp's state values", () => {
    expect(WSMsgType).toMatchObject({
      CONTINUATION: 0,
      TEXT: 1,
      BINARY: 2,
      CLOSE: 8,
      PING: 9,
      PONG: 10,
      CLOSING: 0x100,
      CLOSED: 0x101,
      ERROR: 0x102,
    });
  });

  it("close codes cover 1000-1003 and 1006-1014", () => {
    const codes = Object.values(WSCloseCode).sort((a, b) => a - b);
    expect(codes).toEqual([
      1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
    ]);
    expect(WSCloseCode.MESSAGE_TOO_BIG).toBe(1009);
    expect(WSCloseCode.INVALID_TEXT).toBe(1007);
  });
});

describe("WSMessage", () => {
  it("json() parses a TEXT payload", () => {
    expect(wsMessage.text('{"a":1}').json()).toEqual({ a: 1 });
  });

  it("json() parses a BINARY payload as UTF-8", () => {
    expect(wsMessage.binary(Buffer.from("[1,2]")).json()).toEqual([1, 2]);
  });

  it("json() takes a custom loads", () => {
    expect(wsMessage.text("x").json((t) => t.toUpperCase())).toBe("X");
  });

  it("json() on a CLOSE message throws WSMessageTypeError naming both types", () => {
    const msg = wsMessage.close(1000, "bye");
    expect(() => msg.json()).toThrow(WSMessageTypeError);
    expect(() => msg.json()).toThrow(/CLOSE:8 is not TEXT or BINARY/);
  });

  it("a CLOSE message holds the code as data and the reason as extra", () => {
    const msg = wsMessage.close(1001, "going away");
    expect(msg).toMatchObject({ type: WSMsgType.CLOSE, data: 1001, extra: "going away" });
  });

  it("narrowing on type gives data its type", () => {
    // Through a function, so the compiler keeps the whole union instead of narrowing.
    const received = (): WSMessage => wsMessage.text("hi");
    const msg = received();
    if (msg.type === WSMsgType.TEXT) expectTypeOf(msg.data).toEqualTypeOf<string>();
    if (msg.type === WSMsgType.BINARY) expectTypeOf(msg.data).toEqualTypeOf<Buffer>();
    if (msg.type === WSMsgType.CLOSE) expectTypeOf(msg.data).toEqualTypeOf<number>();
    if (msg.type === WSMsgType.ERROR) expectTypeOf(msg.data).toEqualTypeOf<Error>();
    expect(msg.type).toBe(WSMsgType.TEXT);
  });
});
