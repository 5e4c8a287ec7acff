// Client middlewares over real sockets (issue 10, section 5): order, headers a middleware adds,
// per-request override, a handler called twice, and each redirect hop going through them.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  BodyReplayError,
  type ClientMiddleware,
  type ClientResponse,
  type MiddlewareRequest,
  web,
} from "../../src/index.js";
import type { TestClient } from "../../src/test-utils/index.js";
import { useSessions, useTestClients } from "../helpers.js";

const serve = useTestClients();
const session = useSessions();

/** A server that records each request's path and X-Trace header; `/hop/{n}` redirects to n-1. */
async function recordingServer(): Promise<{ client: TestClient; seen: string[] }> {
  const seen: string[] = [];
  const app = new web.Application();
  app.router.addRoute("*", "/hop/{n}", (request) => {
    const n = Number(request.matchInfo.n);
    seen.push(`${request.relUrl.pathname} ${request.headers.get("X-Trace") ?? "-"}`);
    if (n === 0)
      return new web.Response({ text: `${request.method} ${request.headers.get("X-Trace")}` });
    return new web.Response({ status: 302, headers: { Location: `/hop/${n - 1}` } });
  });
  return { client: await serve(app), seen };
}

function tagging(log: string[], name: string): ClientMiddleware {
  return async (request, handler) => {
    log.push(`${name} in`);
    const response = await handler(request);
    log.push(`${name} out`);
    return response;
  };
}

describe("client middlewares", () => {
  it("run outermost first, session's list in order", async () => {
    const { client } = await recordingServer();
    const log: string[] = [];
    const s = session({ middlewares: [tagging(log, "a"), tagging(log, "b")] });
    const resp = await s.get(client.makeUrl("/hop/0"));
    await resp.text();
    expect(log).toEqual(["a in", "b in", "b out", "a out"]);
  });

  it("a header a middleware adds reaches the server", async () => {
    const { client, seen } = await recordingServer();
    const s = session({
      middlewares: [
        async (request, handler) => {
          request.headers.set("X-Trace", "mw");
          return handler(request);
        },
      ],
    });
    const resp = await s.get(client.makeUrl("/hop/0"));
    expect(await resp.text()).toBe("GET mw");
    expect(seen).toEqual(["/hop/0 mw"]);
  });

  it("a request's middlewares replace the session's, and [] disables them", async () => {
    const { client } = await recordingServer();
    const log: string[] = [];
    const s = session({ middlewares: [tagging(log, "session")] });
    await (await s.get(client.makeUrl("/hop/0"), { middlewares: [tagging(log, "own")] })).text();
    expect(log).toEqual(["own in", "own out"]);
    await (await s.get(client.makeUrl("/hop/0"), { middlewares: [] })).text();
    expect(log).toEqual(["own in", "own out"]);
  });

  it("a middleware that calls the handler twice sends two requests", async () => {
    const { client, seen } = await recordingServer();
    const twice: ClientMiddleware = async (request, handler) => {
      const first = await handler(request);
      await first.release();
      return handler(request);
    };
    const resp = await session().put(client.makeUrl("/hop/0"), {
      data: "body",
      middlewares: [twice],
    });
    expect(await resp.text()).toBe("PUT undefined");
    expect(seen).toEqual(["/hop/0 -", "/hop/0 -"]);
  });

  it("sending a stream body a second time throws BodyReplayError", async () => {
    const { client, seen } = await recordingServer();
    const twice: ClientMiddleware = async (request, handler) => {
      expect(request.bodyReplayable).toBe(false);
      await (await handler(request)).release();
      return handler(request);
    };
    const pending = session().put(client.makeUrl("/hop/0"), {
      data: Readable.from([Buffer.from("once")]),
      middlewares: [twice],
    });
    await expect(pending).rejects.toBeInstanceOf(BodyReplayError);
    expect(seen).toEqual(["/hop/0 -"]);
  });

  it("an object with handle() is a middleware", async () => {
    const { client } = await recordingServer();
    const statuses: number[] = [];
    const mw = {
      async handle(
        request: MiddlewareRequest,
        handler: (r: MiddlewareRequest) => Promise<ClientResponse>,
      ) {
        const response = await handler(request);
        statuses.push(response.status);
        return response;
      },
    };
    await (await session({ middlewares: [mw] }).get(client.makeUrl("/hop/1"))).text();
    expect(statuses).toEqual([302, 200]);
  });

  it("each redirect hop goes through the middlewares", async () => {
    const { client, seen } = await recordingServer();
    const urls: string[] = [];
    const s = session({
      middlewares: [
        async (request, handler) => {
          urls.push(`${request.method} ${request.url.pathname}`);
          request.headers.set("X-Trace", `hop-${urls.length}`);
          return handler(request);
        },
      ],
    });
    const resp = await s.get(client.makeUrl("/hop/2"));
    expect(await resp.text()).toBe("GET hop-3");
    expect(urls).toEqual(["GET /hop/2", "GET /hop/1", "GET /hop/0"]);
    expect(seen).toEqual(["/hop/2 hop-1", "/hop/1 hop-2", "/hop/0 hop-3"]);
    expect(resp.history.map((r) => r.status)).toEqual([302, 302]);
  });

  it("updateBody replaces the body sent", async () => {
    const app = new web.Application();
    app.router.addPost("/", async (request) => new web.Response({ text: await request.text() }));
    const client = await serve(app);
    const resp = await session().post(client.makeUrl("/"), {
      data: "original",
      middlewares: [
        async (request, handler) => {
          expect(request.body).toBe("original");
          request.updateBody(`${String(request.body)}+changed`);
          return handler(request);
        },
      ],
    });
    expect(await resp.text()).toBe("original+changed");
  });

  it("a middleware that is neither a function nor has handle() is refused", () => {
    expect(() => session({ middlewares: [42 as never] })).toThrow(TypeError);
  });
});
