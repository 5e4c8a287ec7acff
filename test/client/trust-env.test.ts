// trustEnv: proxies named by HTTP_PROXY / NO_PROXY, through a CONNECT proxy on loopback that
// records which targets it tunnelled to.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientSession, TCPConnector, web } from "../../src/index.js";
import { type ConnectProxy, startConnectProxy, useTestClients } from "../helpers.js";

const PROXY_VARS = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "NO_PROXY",
  "no_proxy",
];

describe("trustEnv", () => {
  const serve = useTestClients();
  const saved = new Map<string, string | undefined>();
  let proxy: ConnectProxy;

  beforeEach(async () => {
    for (const name of PROXY_VARS) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    proxy = await startConnectProxy();
  });

  afterEach(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await proxy.close();
  });

  async function target(): Promise<string> {
    const app = new web.Application();
    app.router.addGet("/hello", () => new web.Response({ text: "through" }));
    const client = await serve(app);
    return client.server.baseUrl;
  }

  it("sends requests through HTTP_PROXY when trustEnv is true", async () => {
    const base = await target();
    process.env.HTTP_PROXY = proxy.url;
    await using session = new ClientSession({ trustEnv: true });
    const resp = await session.get(`${base}/hello`);
    expect(await resp.text()).toBe("through");
    expect(proxy.targets).toEqual([new URL(base).host]);
  });

  it("ignores HTTP_PROXY without trustEnv", async () => {
    const base = await target();
    process.env.HTTP_PROXY = proxy.url;
    await using session = new ClientSession();
    const resp = await session.get(`${base}/hello`);
    expect(await resp.text()).toBe("through");
    expect(proxy.targets).toEqual([]);
  });

  it("goes direct to hosts listed in NO_PROXY", async () => {
    const base = await target();
    process.env.HTTP_PROXY = proxy.url;
    process.env.NO_PROXY = "127.0.0.1";
    await using session = new ClientSession({ trustEnv: true });
    const resp = await session.get(`${base}/hello`);
    expect(await resp.text()).toBe("through");
    expect(proxy.targets).toEqual([]);
  });

  it("a TCPConnector with proxyFromEnv behaves like trustEnv", async () => {
    const base = await target();
    process.env.http_proxy = proxy.url;
    await using connector = new TCPConnector({ proxyFromEnv: true });
    await using session = new ClientSession({ connector });
    const resp = await session.get(`${base}/hello`);
    expect(await resp.text()).toBe("through");
    expect(proxy.targets).toEqual([new URL(base).host]);
  });

  it.each([
    // A NO_PROXY entry for the host on another port does not apply: both go through the proxy.
    ["127.0.0.1:1", true],
    // The host with its port: both go direct.
    ["the target's host:port", false],
  ])(
    "HTTP requests and WebSocket handshakes take the same way with NO_PROXY=%s",
    async (entry, throughProxy) => {
      const app = new web.Application();
      app.router.addGet("/hello", () => new web.Response({ text: "hi" }));
      app.router.addGet("/ws", async (request) => {
        const ws = new web.WebSocketResponse();
        await ws.prepare(request);
        await ws.sendStr("hi");
        await ws.close();
        return ws;
      });
      const base = new URL((await serve(app)).server.baseUrl);
      process.env.HTTP_PROXY = proxy.url;
      process.env.NO_PROXY = throughProxy ? entry : base.host;
      await using session = new ClientSession({ trustEnv: true });
      const resp = await session.get(new URL("/hello", base));
      expect(await resp.text()).toBe("hi");
      await using ws = await session.wsConnect(new URL("/ws", base));
      expect((await ws.receive()).data).toBe("hi");
      expect(proxy.targets).toEqual(throughProxy ? [base.host, base.host] : []);
    },
  );
});
