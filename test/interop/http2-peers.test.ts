// Our HTTP/2 server against clients that are not ours: curl (`--http2` over TLS, and
// `--http2-prior-knowledge` for h2c) and Python's httpx with h2.

import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { hasPeer, PYTHON } from "../peers.js";
import { type TlsMaterial, tlsMaterial } from "../tls-material.js";
import { FILE_TEXT, makeHttp2App } from "../web/http2-app.js";

const run = promisify(execFile);

let tls: TlsMaterial;
let caFile: string;
let dir: string;
const runners: web.AppRunner[] = [];
let tlsPort = 0;
let h2cPort = 0;
const logged: string[] = [];

async function start(http2: true | "h2c"): Promise<number> {
  const accessLog = { info: (line: string) => logged.push(line) };
  const runner = new web.AppRunner(await makeHttp2App(), { accessLog, accessLogFormat: '"%r" %s' });
  await runner.setup();
  runners.push(runner);
  const ssl = http2 === true ? { ssl: { key: tls.server.key, cert: tls.server.cert } } : {};
  const site = new web.TCPSite(runner, "127.0.0.1", 0, { http2, ...ssl });
  await site.start();
  return site.port;
}

beforeAll(async () => {
  tls = await tlsMaterial();
  dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-h2-peers-"));
  caFile = join(dir, "ca.pem");
  await writeFile(caFile, tls.ca);
  tlsPort = await start(true);
  h2cPort = await start("h2c");
});

afterAll(async () => {
  for (const runner of runners) await runner.cleanup();
  await rm(dir, { recursive: true, force: true });
  await tls?.remove();
});

/** curl's reply: the HTTP version it used, the status, the headers and the body. */
async function curl(args: string[]): Promise<{ version: string; head: string; body: string }> {
  const { stdout } = await run("curl", [
    "-sS",
    "-D",
    "-",
    "-w",
    "\n%{http_version}",
    "--cacert",
    caFile,
    ...args,
  ]);
  const end = stdout.indexOf("\r\n\r\n");
  const rest = stdout.slice(end + 4);
  const nl = rest.lastIndexOf("\n");
  return { head: stdout.slice(0, end), body: rest.slice(0, nl), version: rest.slice(nl + 1) };
}

describe.skipIf(!hasPeer("curl"))("curl over HTTP/2", () => {
  it("--http2 negotiates h2 by ALPN", async () => {
    const reply = await curl(["--http2", `https://localhost:${tlsPort}/`]);
    expect(reply.version).toBe("2");
    expect(reply.body).toBe("hello");
    expect(reply.head).toMatch(/^x-middleware: ran$/m);
    expect(logged).toContain('"GET / HTTP/2.0" 200');
  });

  it("--http1.1 on the same port gets HTTP/1.1", async () => {
    const reply = await curl(["--http1.1", `https://localhost:${tlsPort}/json`]);
    expect(reply.version).toBe("1.1");
    expect(JSON.parse(reply.body)).toEqual({ ok: true });
  });

  it("--http2-prior-knowledge talks h2c", async () => {
    const reply = await curl(["--http2-prior-knowledge", `http://127.0.0.1:${h2cPort}/stream`]);
    expect(reply.version).toBe("2");
    expect(reply.body).toBe("one,two,three");
  });

  it("gets a file range and no connection-specific headers", async () => {
    const range = await curl(["--http2", "-r", "3-4", `https://localhost:${tlsPort}/file`]);
    expect(range.head).toMatch(/^HTTP\/2 206/);
    expect(range.body).toBe(FILE_TEXT.slice(3, 5));
    const hop = await curl(["--http2", `https://localhost:${tlsPort}/hop`]);
    expect(hop.head).not.toMatch(/^(connection|keep-alive|upgrade|transfer-encoding):/im);
  });

  it("a body over clientMaxSize gets 413", async () => {
    const reply = await curl([
      "--http2",
      "--data-binary",
      "x".repeat(4096),
      `https://localhost:${tlsPort}/echo`,
    ]);
    expect(reply.head).toMatch(/^HTTP\/2 413/);
  });
});

const HTTPX = `
import sys, httpx
with httpx.Client(http2=True, verify=sys.argv[2]) as c:
    for path in ("/", "/json", "/nope", "/events"):
        r = c.get(sys.argv[1] + path)
        print(r.http_version, r.status_code, repr(r.text))
    r = c.post(sys.argv[1] + "/echo", content=b"posted")
    print(r.http_version, r.status_code, repr(r.text))
`;

describe.skipIf(!hasPeer("python3-httpx"))("httpx with h2", () => {
  it("gets responses, a 404, an event stream and echoes a body over HTTP/2", async () => {
    const { stdout } = await run(PYTHON, ["-c", HTTPX, `https://localhost:${tlsPort}`, caFile]);
    expect(stdout.trim().split("\n")).toEqual([
      "HTTP/2 200 'hello'",
      "HTTP/2 200 '{\"ok\":true}'",
      "HTTP/2 404 '404: Not Found'",
      "HTTP/2 200 'data: first\\r\\n\\r\\nevent: update\\r\\ndata: second\\r\\n\\r\\n'",
      "HTTP/2 200 'posted'",
    ]);
  });
});
