// RetryMiddleware and the session's `retry` option over real sockets (issue 10, section 5):
// statuses, Retry-After, methods and bodies that are not retried, connection errors and
// timeouts. Backoffs are made tiny through the options, so no test waits on a clock.
import { Readable } from "node:stream";
import { describe, expect, it, onTestFinished } from "vitest";
import { retryAfter } from "../../src/client/retry.js";
import {
  ClientConnectorError,
  type ClientMiddleware,
  MultipartWriter,
  RetryMiddleware,
  TCPConnector,
  web,
} from "../../src/index.js";
import type { TestClient } from "../../src/test-utils/index.js";
import { deferred, freePort, useSessions, useTestClients } from "../helpers.js";

const serve = useTestClients();
const session = useSessions();
const fast = { baseDelay: 1, maxDelay: 5 };

/** A server answering `status` (with `headers`) to its first `failures` requests, then 200. */
async function flakyServer(
  failures: number,
  status = 503,
  headers: Record<string, string> = {},
): Promise<{ client: TestClient; hits: string[] }> {
  const hits: string[] = [];
  const app = new web.Application();
  app.router.addRoute("*", "/", async (request) => {
    hits.push(`${request.method} ${await request.text()}`);
    if (hits.length <= failures) {
      return new web.Response({ status, headers, text: `failure ${hits.length}` });
    }
    return new web.Response({ text: `ok after ${hits.length}` });
  });
  return { client: await serve(app), hits };
}

describe("retried statuses", () => {
  it("a server that fails twice then answers gets three requests", async () => {
    const { client, hits } = await flakyServer(2);
    const resp = await session({ retry: fast }).get(client.makeUrl("/"));
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("ok after 3");
    expect(hits).toHaveLength(3);
  });

  it("when the attempts run out, the last response is returned", async () => {
    const { client, hits } = await flakyServer(5, 502);
    const resp = await session({ retry: { ...fast, attempts: 2 } }).get(client.makeUrl("/"));
    expect(resp.status).toBe(502);
    expect(await resp.text()).toBe("failure 2");
    expect(hits).toHaveLength(2);
  });

  it("a failed attempt's response is released: one connection is enough", async () => {
    const { client, hits } = await flakyServer(2);
    const s = session({ retry: fast, connector: new TCPConnector({ limit: 1 }) });
    const resp = await s.get(client.makeUrl("/"));
    expect(resp.status).toBe(200);
    expect(hits).toHaveLength(3);
  });

  it("a status not in the list is not retried", async () => {
    const { client, hits } = await flakyServer(1, 404);
    const resp = await session({ retry: fast }).get(client.makeUrl("/"));
    expect(resp.status).toBe(404);
    expect(hits).toHaveLength(1);
  });

  it.each(["0", "1"])("429 with Retry-After: %s is retried", async (value) => {
    const { client, hits } = await flakyServer(1, 429, { "Retry-After": value });
    // maxDelay caps a wait of a second to a few milliseconds.
    const resp = await session({ retry: fast }).get(client.makeUrl("/"));
    expect(resp.status).toBe(200);
    expect(hits).toHaveLength(2);
  });

  it("a Retry-After of an hour is capped by maxDelay", async () => {
    const { client, hits } = await flakyServer(1, 503, { "Retry-After": "3600" });
    const resp = await session({ retry: fast }).get(client.makeUrl("/"));
    expect(resp.status).toBe(200);
    expect(hits).toHaveLength(2);
  });

  it("Retry-After is read as seconds or as an HTTP-date", () => {
    const now = Date.parse("Sat, 05 Dec 2026 03:00:00 GMT");
    expect(retryAfter("2", now)).toBe(2000);
    expect(retryAfter("Sat, 05 Dec 2026 03:00:07 GMT", now)).toBe(7000);
    expect(retryAfter("Sat, 05 Dec 2026 02:00:00 GMT", now)).toBe(0);
    expect(retryAfter("soon", now)).toBeNull();
    expect(retryAfter(undefined, now)).toBeNull();
  });
});

describe("what is not retried", () => {
  it("POST is not retried by default", async () => {
    const { client, hits } = await flakyServer(1);
    const resp = await session({ retry: fast }).post(client.makeUrl("/"), { data: "x" });
    expect(resp.status).toBe(503);
    expect(hits).toEqual(["POST x"]);
  });

  it("POST is retried when listed in methods, with the same body", async () => {
    const { client, hits } = await flakyServer(1);
    const s = session({ middlewares: [new RetryMiddleware({ ...fast, methods: ["post"] })] });
    const resp = await s.post(client.makeUrl("/"), { data: "x" });
    expect(resp.status).toBe(200);
    expect(hits).toEqual(["POST x", "POST x"]);
  });

  it("a multipart body of in-memory parts is built again for the next attempt", async () => {
    const { client, hits } = await flakyServer(1);
    const writer = new MultipartWriter("mixed", "b0undary");
    writer.append("part one");
    const resp = await session({ retry: fast }).put(client.makeUrl("/"), { data: writer });
    expect(resp.status).toBe(200);
    expect(hits).toHaveLength(2);
    expect(hits[1]).toBe(hits[0]);
    expect(hits[0]).toContain("part one");
  });

  it("a stream body is not sent again", async () => {
    const { client, hits } = await flakyServer(1);
    const resp = await session({ retry: fast }).put(client.makeUrl("/"), {
      data: Readable.from([Buffer.from("streamed")]),
    });
    expect(resp.status).toBe(503);
    expect(hits).toEqual(["PUT streamed"]);
  });

  it("a request's middlewares: [] turns the session's retry off", async () => {
    const { client, hits } = await flakyServer(1);
    const resp = await session({ retry: fast }).get(client.makeUrl("/"), { middlewares: [] });
    expect(resp.status).toBe(503);
    expect(hits).toHaveLength(1);
  });
});

describe("connection errors and timeouts", () => {
  it("a refused connection is retried, then fails with the last error", async () => {
    const port = await freePort();
    let calls = 0;
    const counter: ClientMiddleware = (request, handler) => {
      calls++;
      return handler(request);
    };
    const s = session({ middlewares: [new RetryMiddleware({ ...fast, attempts: 3 }), counter] });
    await expect(s.get(`http://127.0.0.1:${port}/`)).rejects.toBeInstanceOf(ClientConnectorError);
    expect(calls).toBe(3);
  });

  it("a read timeout is retried", async () => {
    let hits = 0;
    const release = deferred();
    onTestFinished(() => release.resolve());
    const app = new web.Application();
    app.router.addGet("/", async () => {
      hits++;
      // The first request hangs until the test ends; the client's sockRead gives up on it.
      if (hits === 1) await release.promise;
      return new web.Response({ text: `answer ${hits}` });
    });
    const client = await serve(app);
    const resp = await session({ retry: fast }).get(client.makeUrl("/"), {
      timeout: { sockRead: 200 },
    });
    expect(await resp.text()).toBe("answer 2");
    expect(hits).toBe(2);
  });
});

describe("options", () => {
  it("attempts below 1 are refused", () => {
    expect(() => new RetryMiddleware({ attempts: 0 })).toThrow(RangeError);
  });
});

describe("cancelling", () => {
  it("aborting the request ends the wait before the next attempt", async () => {
    const { client, hits } = await flakyServer(5);
    const controller = new AbortController();
    const s = session({ retry: { baseDelay: 3_600_000, maxDelay: 3_600_000 } });
    const pending = s.get(client.makeUrl("/"), { signal: controller.signal });
    const failure = expect(pending).rejects.toThrow();
    // Once the first answer has arrived, the middleware sits in its (hour-long) backoff.
    await expect.poll(() => hits.length).toBe(1);
    controller.abort();
    await failure;
    expect(hits).toHaveLength(1);
  });
});
