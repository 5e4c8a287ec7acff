// The `proxy`, `proxyAuth` and `proxyHeaders` options against a recording proxy on loopback
// (test/interop/proxy-tinyproxy.test.ts runs the same through a real one).

import { afterEach, describe, expect, it } from "vitest";
import {
  BasicAuth,
  ClientHttpProxyError,
  ClientSession,
  InvalidUrlClientError,
  web,
} from "../../src/index.js";
import { type ConnectProxy, rejection, startConnectProxy, useTestClients } from "../helpers.js";

describe("proxy options", () => {
  const serve = useTestClients();
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function recording(options: { refuse?: number } = {}): Promise<ConnectProxy> {
    const p = await startConnectProxy(options);
    cleanups.push(() => p.close());
    return p;
  }

  function session(options: ConstructorParameters<typeof ClientSession>[0] = {}): ClientSession {
    const s = new ClientSession(options);
    cleanups.push(() => s.close());
    return s;
  }

  async function target(): Promise<string> {
    const app = new web.Application();
    app.router.addGet("/", () => new web.Response({ text: "ok" }));
    return (await serve(app)).server.baseUrl;
  }

  it("sends proxyHeaders to the proxy, the request's over the session's", async () => {
    const base = await target();
    const p = await recording();
    const s = session({ proxy: p.url, proxyHeaders: { "X-Team": "a", "X-Keep": "k" } });
    const resp = await s.get(`${base}/`, { proxyHeaders: { "X-Team": "b" } });
    expect(await resp.text()).toBe("ok");
    expect(p.requests[0]).toMatchObject({
      method: "GET",
      target: new URL(base).host,
      headers: { "x-team": "b", "x-keep": "k" },
    });
  });

  it("sends proxyAuth as Proxy-Authorization, never to the target", async () => {
    const base = await target();
    const p = await recording();
    const resp = await session().get(`${base}/`, {
      proxy: p.url,
      proxyAuth: new BasicAuth("u", "p"),
    });
    expect(await resp.text()).toBe("ok");
    expect(p.requests[0]?.headers["proxy-authorization"]).toBe(new BasicAuth("u", "p").encode());
  });

  it.each([403, 502])(
    "a CONNECT answered with %i is ClientHttpProxyError with that status",
    async (status) => {
      const p = await recording({ refuse: status });
      const err = await rejection(session({ proxy: p.url }).get("https://127.0.0.1:9/"));
      expect(err).toBeInstanceOf(ClientHttpProxyError);
      expect(err).toMatchObject({ status, code: "AIOHTTP_HTTP_PROXY_ERROR" });
    },
  );

  it("a plain request the proxy answers with 502 is that response", async () => {
    const p = await recording({ refuse: 502 });
    const resp = await session({ proxy: p.url }).get("http://127.0.0.1:9/");
    expect(resp.status).toBe(502);
  });

  it("a proxy that is no http(s) URL is refused when the session is made", () => {
    expect(() => new ClientSession({ proxy: "not a url" })).toThrow(InvalidUrlClientError);
    expect(() => new ClientSession({ proxy: "ftp://127.0.0.1:21" })).toThrow(InvalidUrlClientError);
  });

  it("expect100 through a proxy is refused rather than sent past it", async () => {
    const err = await rejection(
      session({ proxy: "http://127.0.0.1:9" }).post("http://127.0.0.1:9/", {
        data: "x",
        expect100: true,
      }),
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain("proxy");
  });
});
