// Expect: 100-continue (RFC 9110 10.1.1) on raw sockets: the interim 100 comes before the
// client sends the body, other expectations get 417, and a route's expectHandler can refuse
// the upload without the 100.
import { describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { quiet, RawConnection, useRunners } from "../helpers.js";

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

const start = useRunners();

interface Calls {
  handler: number;
}

async function serve(expectHandler?: web.ExpectHandler): Promise<{ port: number; calls: Calls }> {
  const calls: Calls = { handler: 0 };
  const app = new web.Application({ logger: quiet });
  const echo: web.Handler = async (req) => {
    calls.handler++;
    return new web.Response({ text: `got ${await req.text()}` });
  };
  app.router.addPost("/upload", echo, expectHandler === undefined ? {} : { expectHandler });
  app.router.addGet("/only-get", () => new web.Response({ text: "get" }));
  const { port } = await start(app, { accessLog: null });
  return { port, calls };
}

function head(path: string, expectValue: string, version = "1.1"): string {
  return (
    `POST ${path} HTTP/${version}\r\nHost: x\r\nConnection: close\r\n` +
    `Content-Length: 5\r\nExpect: ${expectValue}\r\n\r\n`
  );
}

describe("Expect: 100-continue", () => {
  it("sends an interim 100 Continue before the body, then the final answer", async () => {
    const { port } = await serve();
    const conn = new RawConnection(port);
    conn.write(head("/upload", "100-continue"));
    await conn.waitFor(CONTINUE);
    expect(conn.data).toBe(CONTINUE);
    conn.write("hello");
    const all = await conn.end();
    expect(all.startsWith(`${CONTINUE}HTTP/1.1 200 OK\r\n`)).toBe(true);
    expect(all.endsWith("\r\n\r\ngot hello")).toBe(true);
  });

  it("matches the expectation case-insensitively", async () => {
    const { port } = await serve();
    const conn = new RawConnection(port);
    conn.write(head("/upload", "100-Continue"));
    await conn.waitFor(CONTINUE);
    conn.write("hello");
    expect(await conn.end()).toMatch(/HTTP\/1\.1 200 OK[\s\S]*got hello$/);
  });

  it("answers 417 to any other expectation, without running the handler", async () => {
    const { port, calls } = await serve();
    const conn = new RawConnection(port);
    conn.write(head("/upload", "something-else"));
    await conn.waitFor("\r\n\r\n");
    expect(conn.data.startsWith("HTTP/1.1 417 Expectation Failed\r\n")).toBe(true);
    expect(conn.data).not.toContain("100 Continue");
    expect(calls.handler).toBe(0);
  });

  it("answers a 404 without 100 Continue when no route matches", async () => {
    const { port } = await serve();
    const conn = new RawConnection(port);
    conn.write(head("/nowhere", "100-continue"));
    await conn.waitFor("\r\n\r\n");
    expect(conn.data.startsWith("HTTP/1.1 404 Not Found\r\n")).toBe(true);
    expect(conn.data).not.toContain("100 Continue");
  });

  it("answers a 405 without 100 Continue when the method is not allowed", async () => {
    const { port } = await serve();
    const conn = new RawConnection(port);
    conn.write(head("/only-get", "100-continue"));
    await conn.waitFor("\r\n\r\n");
    expect(conn.data.startsWith("HTTP/1.1 405 Method Not Allowed\r\n")).toBe(true);
    expect(conn.data).not.toContain("100 Continue");
  });

  it("sends no 100 Continue to an HTTP/1.0 client", async () => {
    const { port } = await serve();
    const conn = new RawConnection(port);
    conn.write(`${head("/upload", "100-continue", "1.0")}hello`);
    const all = await conn.end();
    expect(all).not.toContain("100 Continue");
    expect(all).toMatch(/^HTTP\/1\.[01] 200 OK\r\n[\s\S]*got hello$/);
  });

  it("handles a request without Expect with no interim response", async () => {
    const { port } = await serve();
    const conn = new RawConnection(port);
    conn.write(
      "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
    );
    const all = await conn.end();
    expect(all.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
  });
});

describe("a route's expectHandler", () => {
  it("refuses with the response it returns, without 100 Continue or the handler", async () => {
    const { port, calls } = await serve(() => new web.Response({ status: 401, text: "no token" }));
    const conn = new RawConnection(port);
    conn.write(head("/upload", "100-continue"));
    await conn.waitFor("no token");
    expect(conn.data.startsWith("HTTP/1.1 401 Unauthorized\r\n")).toBe(true);
    expect(conn.data).not.toContain("100 Continue");
    expect(calls.handler).toBe(0);
  });

  it("refuses with the HTTP exception it throws, without 100 Continue", async () => {
    const { port, calls } = await serve(() => {
      throw new web.HTTPUnauthorized({ text: "token required" });
    });
    const conn = new RawConnection(port);
    conn.write(head("/upload", "100-continue"));
    await conn.waitFor("token required");
    expect(conn.data.startsWith("HTTP/1.1 401 Unauthorized\r\n")).toBe(true);
    expect(conn.data).not.toContain("100 Continue");
    expect(calls.handler).toBe(0);
  });

  it("lets the upload through when it defers to the default handler", async () => {
    const seen: string[] = [];
    const { port } = await serve((request) => {
      seen.push(request.headers.get("Authorization") ?? "none");
      return web.defaultExpectHandler(request);
    });
    const conn = new RawConnection(port);
    conn.write(head("/upload", "100-continue").replace("\r\n\r\n", "\r\nAuthorization: t\r\n\r\n"));
    await conn.waitFor(CONTINUE);
    conn.write("hello");
    expect(await conn.end()).toMatch(/200 OK[\s\S]*got hello$/);
    expect(seen).toEqual(["t"]);
  });

  it("can accept an expectation the default refuses", async () => {
    const { port, calls } = await serve(() => undefined);
    const conn = new RawConnection(port);
    conn.write(`${head("/upload", "x-custom")}hello`);
    expect(await conn.end()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*got hello$/);
    expect(calls.handler).toBe(1);
  });
});
