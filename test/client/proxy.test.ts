// The environment's proxy rules (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), read once in
// src/client/proxy.ts for HTTP requests and WebSocket handshakes alike (test/client/
// trust-env.test.ts has them at work through a real proxy).

import { describe, expect, it } from "vitest";
import { proxyFor, readEnvProxies } from "../../src/client/proxy.js";

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

  it("WebSocket handshakes take WS_PROXY / WSS_PROXY first; HTTP requests never do", () => {
    const env = { ...proxied, WS_PROXY: "http://ws.test:1", wss_proxy: "http://wss.test:2" };
    const proxies = readEnvProxies(env);
    expect(decide("ws://a.test/", env)).toBe("http://ws.test:1/");
    expect(decide("wss://a.test/", env)).toBe("http://wss.test:2/");
    // The handshake itself runs on http(s) URLs.
    expect(proxyFor(new URL("https://a.test/"), proxies, true)?.href).toBe("http://wss.test:2/");
    expect(decide("http://a.test/", env)).toBe("http://proxy.test:3128/");
    expect(decide("https://a.test/", env)).toBe("http://proxy.test:3129/");
    expect(decide("http://a.test/", { WS_PROXY: "http://ws.test:1" })).toBeNull();
    expect(decide("ws://a.test/", { ...env, NO_PROXY: "a.test" })).toBeNull();
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
