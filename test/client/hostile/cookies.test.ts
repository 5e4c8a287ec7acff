// Hostile servers, cookies: a Set-Cookie for another domain, a sibling, a public suffix (ICANN
// or private, such as github.io) or an IP address is not stored, and so never sent anywhere.
// The server stands in for every host as a forward proxy: the client sends it absolute-form
// requests for http://<host>/..., so the jar judges each cookie by the host the client asked for.
import { describe, expect, test } from "vitest";
import type { ClientSession } from "../../../src/index.js";
import { useSessions } from "../../helpers.js";
import {
  answer,
  type HostileServer,
  type SeenRequest,
  useHostileServers,
} from "./hostile-server.js";

const hostile = useHostileServers();
const session = useSessions();

/** A proxy answering each URL in `setCookies` with its Set-Cookie line, anything else with 404. */
async function cookieProxy(
  setCookies: Record<string, string>,
): Promise<{ server: HostileServer; s: ClientSession }> {
  const routes = Object.fromEntries(
    Object.entries(setCookies).map(([url, cookie]) => [
      url,
      answer(`HTTP/1.1 200 OK\r\nSet-Cookie: ${cookie}\r\nContent-Length: 0\r\n\r\n`),
    ]),
  );
  const server = await hostile(routes);
  return { server, s: session({ proxy: server.url }) };
}

/** The Cookie header the request for `url` carried ("" when none). */
async function cookieSentTo(s: ClientSession, server: HostileServer, url: string): Promise<string> {
  const before = server.requests.length;
  await (await s.get(url)).release();
  const seen: SeenRequest | undefined = server.requests[before];
  expect(seen?.target).toBe(url);
  return /\r\ncookie: ([^\r]*)\r\n/i.exec(seen?.head ?? "")?.[1] ?? "";
}

describe("Set-Cookie for a domain the server does not own", () => {
  const refused: Array<[string, string, string]> = [
    ["another domain", "http://shop.example.com/set", "c=1; Domain=evil.test"],
    ["a sibling", "http://a.example.com/set", "c=1; Domain=b.example.com"],
    ["a longer name ending like it", "http://example.com/set", "c=1; Domain=example.com.evil.test"],
    ["a name it merely ends with", "http://badexample.com/set", "c=1; Domain=example.com"],
    ["a top-level domain", "http://shop.example.com/set", "c=1; Domain=com"],
    ["an ICANN public suffix (co.uk)", "http://shop.co.uk/set", "c=1; Domain=co.uk"],
    ["a private public suffix (github.io)", "http://user.github.io/set", "c=1; Domain=github.io"],
    ["an IP address", "http://shop.example.com/set", "c=1; Domain=127.0.0.1"],
  ];
  const probes = [
    "http://evil.test/ok",
    "http://b.example.com/ok",
    "http://example.com.evil.test/ok",
    "http://example.com/ok",
    "http://other.com/ok",
    "http://other.co.uk/ok",
    "http://other.github.io/ok",
  ];
  for (const [name, url, cookie] of refused) {
    test(`${name} (${cookie}): not stored, sent nowhere`, async () => {
      const { server, s } = await cookieProxy({ [url]: cookie });
      await (await s.get(url)).release();
      expect(s.cookieJar.size).toBe(0);
      for (const probe of [url, ...probes]) {
        expect(await cookieSentTo(s, server, probe)).toBe("");
      }
    });
  }

  test("the parent domain of the server is allowed, and only its subdomains get it", async () => {
    // The control: what the cases above refuse is refused for the domain, not for the syntax.
    const { server, s } = await cookieProxy({
      "http://a.example.com/set": "c=1; Domain=example.com",
    });
    await (await s.get("http://a.example.com/set")).release();
    expect(s.cookieJar.size).toBe(1);
    expect(await cookieSentTo(s, server, "http://b.example.com/ok")).toBe("c=1");
    expect(await cookieSentTo(s, server, "http://badexample.com/ok")).toBe("");
    expect(await cookieSentTo(s, server, "http://example.com.evil.test/ok")).toBe("");
  });

  test("a host-only cookie is not sent to a subdomain", async () => {
    const { server, s } = await cookieProxy({ "http://example.com/set": "c=1" });
    await (await s.get("http://example.com/set")).release();
    expect(await cookieSentTo(s, server, "http://example.com/ok")).toBe("c=1");
    expect(await cookieSentTo(s, server, "http://sub.example.com/ok")).toBe("");
  });

  test("a Secure cookie set over plain http is not stored", async () => {
    const { server, s } = await cookieProxy({ "http://example.com/set": "c=1; Secure" });
    await (await s.get("http://example.com/set")).release();
    expect(s.cookieJar.size).toBe(0);
    expect(await cookieSentTo(s, server, "http://example.com/ok")).toBe("");
  });

  test("a cookie refused in a redirect response is not sent on the next hop", async () => {
    const server = await hostile({
      "http://shop.example.com/go": (socket) =>
        socket.write(
          "HTTP/1.1 302 Found\r\nSet-Cookie: c=1; Domain=other.test\r\nLocation: http://other.test/ok\r\nContent-Length: 0\r\n\r\n",
        ),
    });
    const s = session({ proxy: server.url });
    await (await s.get("http://shop.example.com/go")).release();
    expect(server.requests.map((r) => r.target)).toEqual([
      "http://shop.example.com/go",
      "http://other.test/ok",
    ]);
    expect(server.requests[1]?.head).not.toMatch(/\r\ncookie:/i);
  });
});
