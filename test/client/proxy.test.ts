// The environment's proxy rules (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), read once in
// src/client/proxy.ts for HTTP requests and WebSocket handshakes alike.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { proxyFor, readEnvProxies } from "../../src/client/proxy.js";
import { ClientSession, web } from "../../src/index.js";
import { type ConnectProxy, startConnectProxy, useTestClients } from "../helpers.js";

function decide(url: string, env: NodeJS.ProcessEnv): string | null {
  return proxyFor(new URL(url), readEnvProxies(env))?.href ?? null;
}

describe("proxy rules", () => {
  const proxied = { HTTP_PROXY: "http://proxy.test:3128", HTTPS_PROXY: "proxy.test:3129" };

  it("http and ws URLs use HTTP_PROXY, https and wss URLs HTTPS_PROXY (scheme-less is http)", () => {
    expect(decide("http://a.test/", proxied)).toBe("http://proxy.test:3128/");
    expect(decide("ws://a.test/", proxied)).toBe("http://proxy.test:3128/");
    expect(decide("https://a.test/", proxied)).toBe("http://proxy.test:3129/");
    expect(decide("wss://a.test/", proxied)).toBe("http://proxy.test:3129/");
  });

  it("lower-case names win over upper-case ones, as in curl", () => {
    expect(decide("http://a.test/", { ...proxied, http_proxy: "http://lower.test:1/" })).toBe(
      "http://lower.test:1/",
    );
  });

  it("no proxy variable, an empty one or one that is no URL: direct", () => {
    expect(decide("http://a.test/", {})).toBeNull();
    expect(decide("http://a.test/", { HTTP_PROXY: "" })).toBeNull();
    expect(decide("http://a.test/", { HTTP_PROXY: "http://[bad" })).toBeNull();
  });

  it.each([
    ["example.test", "http://example.test/", null],
    ["example.test", "http://api.example.test/", null],
    [".example.test", "http://api.example.test/", null],
    ["*.example.test", "http://example.test/", null],
    ["example.test", "http://notexample.test/", "proxied"],
    ["example.test:8080", "http://example.test:8080/", null],
    ["example.test:8080", "http://example.test/", "proxied"],
    ["EXAMPLE.test", "http://example.TEST/", null],
    ["*", "http://anything.test/", null],
    ["a.test, b.test", "http://b.test/", null],
    ["a.test b.test", "http://b.test/", null],
    ["127.0.0.1", "http://127.0.0.1:9/", null],
    ["[::1]", "http://[::1]:9/", null],
    ["[::1]:9", "http://[::1]:9/", null],
    ["[::1]:10", "http://[::1]:9/", "proxied"],
    ["::1", "http://[::1]:9/", null],
  ])("NO_PROXY=%s for %s", (noProxy, url, expected) => {
    const outcome = decide(url, { ...proxied, NO_PROXY: noProxy });
    expect(outcome === null ? null : "proxied").toBe(expected);
  });
});

describe("HTTP requests and WebSocket handshakes follow the same NO_PROXY rules", () => {
  const serve = useTestClients();
  const saved = new Map<string, string | undefined>();
  let proxy: ConnectProxy;
  const VARS = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"];

  beforeEach(async () => {
    for (const name of VARS) {
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

  async function target(): Promise<URL> {
    const app = new web.Application();
    app.router.addGet("/hello", () => new web.Response({ text: "hi" }));
    app.router.addGet("/ws", async (request) => {
      const ws = new web.WebSocketResponse();
      await ws.prepare(request);
      await ws.sendStr("hi");
      await ws.close();
      return ws;
    });
    const client = await serve(app);
    return new URL(client.server.baseUrl);
  }

  it.each([
    // A NO_PROXY entry for the host on another port does not apply: both go through the proxy.
    ["127.0.0.1:1", true],
    // The host with its port: both go direct.
    ["PORT", false],
  ])("NO_PROXY=%s", async (entry, throughProxy) => {
    const base = await target();
    process.env.HTTP_PROXY = proxy.url;
    process.env.NO_PROXY = entry === "PORT" ? base.host : entry;
    await using session = new ClientSession({ trustEnv: true });
    const resp = await session.get(new URL("/hello", base));
    expect(await resp.text()).toBe("hi");
    await using ws = await session.wsConnect(new URL("/ws", base));
    expect((await ws.receive()).data).toBe("hi");
    expect(proxy.targets).toEqual(throughProxy ? [base.host, base.host] : []);
  });
});
