// Types of the client's middleware and tracing API, as aiohttp code ported to TypeScript uses
// them.
import { expectTypeOf, test } from "vitest";
import type {
  ClientHandler,
  ClientMiddleware,
  ClientRequest,
  ClientResponse,
  TraceConfig,
  TraceDnsParams,
  TraceParams,
} from "../../src/index.js";

test("a middleware written against aiohttp's ClientRequest name is a ClientMiddleware", () => {
  const mw = async (req: ClientRequest, handler: ClientHandler): Promise<ClientResponse> => {
    expectTypeOf(req.method).toEqualTypeOf<string>();
    expectTypeOf(req.url).toEqualTypeOf<URL>();
    req.updateBody("new body");
    return handler(req);
  };
  expectTypeOf(mw).toMatchTypeOf<ClientMiddleware>();
});

test("the DNS and connection signals have typed parameters", () => {
  expectTypeOf<TraceParams["onDnsCacheHit"]>().toEqualTypeOf<TraceDnsParams>();
  expectTypeOf<TraceDnsParams["host"]>().toEqualTypeOf<string>();
  expectTypeOf<
    Parameters<TraceConfig["onDnsResolvehostStart"][number]>[2]
  >().toEqualTypeOf<TraceDnsParams>();
  expectTypeOf<TraceParams["onConnectionCreateStart"]>().toEqualTypeOf<
    Readonly<Record<string, never>>
  >();
});
