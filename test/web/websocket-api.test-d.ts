// Both sides of a WebSocket offer the same channel API, by construction: every member of
// WebSocketChannelApi (the channel's public members) exists with the same type on the server's
// web.WebSocketResponse and on the client's ClientWebSocketResponse.
import { describe, expectTypeOf, it } from "vitest";
import type { WebSocketChannelApi } from "../../src/http/websocket.js";
import type { ClientWebSocketResponse, web } from "../../src/index.js";

type Api = WebSocketChannelApi;
type Server = web.WebSocketResponse;
type Client = ClientWebSocketResponse;

describe("the WebSocket channel API", () => {
  it("is on the server side, every member with its type", () => {
    expectTypeOf<Pick<Server, keyof Api>>().toEqualTypeOf<Api>();
  });

  it("is on the client side, every member with its type", () => {
    expectTypeOf<Pick<Client, keyof Api>>().toEqualTypeOf<Api>();
  });

  it("includes terminate() and Symbol.asyncDispose, which the server side used to lack", () => {
    expectTypeOf<"terminate">().toExtend<keyof Api>();
    expectTypeOf<typeof Symbol.asyncDispose>().toExtend<keyof Api>();
    expectTypeOf<Server["terminate"]>().toEqualTypeOf<Client["terminate"]>();
    expectTypeOf<Server[typeof Symbol.asyncDispose]>().toEqualTypeOf<
      Client[typeof Symbol.asyncDispose]
    >();
    expectTypeOf<Server>().toExtend<AsyncDisposable>();
    expectTypeOf<Server>().toExtend<AsyncIterable<unknown>>();
  });

  it("keeps the server side a response", () => {
    expectTypeOf<Server>().toExtend<web.StreamResponse>();
  });
});
