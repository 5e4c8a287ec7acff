// Hostile servers, redirects: loops, Locations to schemes that are not HTTP (file:,
// javascript:, data:...), Locations that do not parse, and a redirect whose body never ends.
// Each fails with its class, nothing but the redirecting request reaches any server, and the
// session's next request works.
import type { Socket } from "node:net";
import { describe, expect, test } from "vitest";
import {
  InvalidUrlRedirectClientError,
  NonHttpUrlRedirectClientError,
  TooManyRedirects,
} from "../../../src/index.js";
import { useSessions } from "../../helpers.js";
import {
  answer,
  expectCleanAndUsable,
  type SeenRequest,
  useHostileServers,
} from "./hostile-server.js";

const hostile = useHostileServers();
const session = useSessions();

const redirect = (location: string, status = 302): string =>
  `HTTP/1.1 ${status} Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`;

describe("redirect loops", () => {
  test("a page redirecting to itself: TooManyRedirects after maxRedirects (10)", async () => {
    const server = await hostile({ "/loop": answer(redirect("/loop")) });
    const s = session();
    const err = await s.get(`${server.url}/loop`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRedirects);
    expect((err as TooManyRedirects).history).toHaveLength(11);
    expect((err as TooManyRedirects).status).toBe(302);
    expect(server.requests).toHaveLength(11);
    // The loop ran on one keep-alive connection, and left it fit for reuse.
    await expectCleanAndUsable(s, server, { closed: false });
    expect(server.connections).toHaveLength(1);
  });

  test("two pages redirecting to each other, with maxRedirects: 3", async () => {
    const server = await hostile({
      "/a": answer(redirect("/b", 301)),
      "/b": answer(redirect("/a", 307)),
    });
    const s = session();
    const err = await s.get(`${server.url}/a`, { maxRedirects: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRedirects);
    expect(server.requests.map((r) => r.target)).toEqual(["/a", "/b", "/a", "/b"]);
    await expectCleanAndUsable(s, server, { closed: false });
  });

  test("a loop through a query that grows each time stops too", async () => {
    const server = await hostile({
      "/grow": (socket: Socket, request: SeenRequest) =>
        socket.write(redirect(`${request.target}&x=${"y".repeat(100)}`)),
    });
    const s = session();
    const err = await s.get(`${server.url}/grow?a=1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TooManyRedirects);
    expect(server.requests).toHaveLength(11);
    await expectCleanAndUsable(s, server, { closed: false });
  });

  test("a redirect whose body never ends is not read: its connection is closed", async () => {
    const server = await hostile({
      "/endless": (socket) => {
        socket.write("HTTP/1.1 302 Found\r\nLocation: /ok\r\nTransfer-Encoding: chunked\r\n\r\n");
        const timer = setInterval(() => socket.write(`400\r\n${"z".repeat(1024)}\r\n`), 5);
        socket.once("close", () => clearInterval(timer));
      },
    });
    const s = session();
    await using resp = await s.get(`${server.url}/endless`);
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("ok");
    expect(resp.history).toHaveLength(1);
    await server.connections[0]?.closed;
    expect(server.connections[0]?.isClosed).toBe(true);
  });
  test("a redirect whose body trickles is not waited for (regression: release() drained it)", async () => {
    const server = await hostile({
      "/trickle": (socket) => {
        socket.write("HTTP/1.1 302 Found\r\nLocation: /ok\r\nTransfer-Encoding: chunked\r\n\r\n");
        const timer = setInterval(() => socket.write("1\r\nz\r\n"), 20);
        socket.once("close", () => clearInterval(timer));
      },
    });
    const s = session();
    // Draining 128 KiB at 50 bytes a second would take 45 minutes: the total timeout would hit.
    await using resp = await s.get(`${server.url}/trickle`, { timeout: { total: 5_000 } });
    expect(await resp.text()).toBe("ok");
    await server.connections[0]?.closed;
  });
});

describe("Locations that are not HTTP", () => {
  const targets = [
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/plain,hello",
    "ftp://127.0.0.1/x",
    "about:blank",
    "blob:http://127.0.0.1/x",
    "ws://127.0.0.1/x",
  ];
  for (const location of targets) {
    test(`${location}: NonHttpUrlRedirectClientError, nothing fetched`, async () => {
      const server = await hostile({ "/go": answer(redirect(location)) });
      const s = session();
      const err = await s.get(`${server.url}/go`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonHttpUrlRedirectClientError);
      expect((err as NonHttpUrlRedirectClientError).url).toContain(location.split(":")[0]);
      expect(server.requests.map((r) => r.target)).toEqual(["/go"]);
      await expectCleanAndUsable(s, server, { closed: false });
    });
  }

  test("a scheme in odd case (FILE:) is refused the same", async () => {
    const server = await hostile({ "/go": answer(redirect("FILE:///etc/passwd", 301)) });
    const s = session();
    const err = await s.get(`${server.url}/go`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonHttpUrlRedirectClientError);
    expect(server.requests).toHaveLength(1);
  });
});

describe("Locations that do not parse", () => {
  for (const location of ["http://[::1", "http://exa mple.com/", "http://:80/"]) {
    test(`${JSON.stringify(location)}: InvalidUrlRedirectClientError`, async () => {
      const server = await hostile({ "/go": answer(redirect(location)) });
      const s = session();
      const err = await s.get(`${server.url}/go`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidUrlRedirectClientError);
      expect(server.requests).toHaveLength(1);
      await expectCleanAndUsable(s, server, { closed: false });
    });
  }
});
