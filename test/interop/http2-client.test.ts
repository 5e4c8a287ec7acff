// The client with `http2: true` against HTTP/2 servers that are not ours: Debian's nghttpd
// (nghttp2's static file server) and hypercorn serving an ASGI app (test/interop/
// h2_asgi_app.py), both over TLS with a self-signed certificate and h2 by ALPN.

import { type ChildProcess, spawn } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SocketTimeoutError } from "../../src/index.js";
import { freePort, rejection, selfSignedCert, useSessions } from "../helpers.js";
import { hasPeer, NGHTTPD, PYTHON } from "../peers.js";

/** A server program in a child process. */
interface Peer {
  readonly child: ChildProcess;
  /** What it printed so far, stdout and stderr together. */
  output(): string;
  stop(): void;
}

/** Runs `file args` and resolves once its output matches `ready`; the match's group 1 is kept. */
async function startPeer(
  file: string,
  args: string[],
  ready: RegExp,
  cwd: string,
): Promise<{ peer: Peer; match: string }> {
  const child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const match = await new Promise<string>((resolve, reject) => {
    const fail = (why: string, cause?: unknown): void => {
      clearTimeout(timer);
      stop();
      reject(new Error(`${file}: ${why}\n--- output ---\n${output}`, { cause }));
    };
    const timer = setTimeout(() => fail("not listening in time"), 15_000);
    child.once("error", (err) => fail("cannot start", err));
    child.once("exit", (code) => fail(`exited with ${code} before listening`));
    const onData = (d: string): void => {
      output += d;
      const m = ready.exec(output);
      if (m === null) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolve(m[1] ?? "");
    };
    child.stdout?.setEncoding("utf8").on("data", onData);
    child.stderr?.setEncoding("utf8").on("data", onData);
  });
  return { peer: { child, output: () => output, stop }, match };
}

/** Counts the connections undici opens to `port` while `run` runs. */
async function connectionsDuring(port: number, run: () => Promise<void>): Promise<number> {
  let count = 0;
  const onConnected = (message: unknown): void => {
    const { connectParams } = message as { connectParams: { port: string | number } };
    if (Number(connectParams.port) === port) count++;
  };
  subscribe("undici:client:connected", onConnected);
  try {
    await run();
  } finally {
    unsubscribe("undici:client:connected", onConnected);
  }
  return count;
}

let dir: string;
let cert: { key: string; cert: string };

beforeAll(async () => {
  if (!hasPeer("openssl") || !(hasPeer("nghttpd") || hasPeer("python3-hypercorn"))) return;
  dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-h2cli-"));
  cert = await selfSignedCert(dir);
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

// The certificate names `localhost` only.
const session = useSessions(() => ({ http2: true, ssl: { ca: cert.cert } }));

describe.skipIf(!hasPeer("nghttpd", "openssl"))("http2 client against nghttpd", () => {
  let peer: Peer;
  let port: number;
  let base: string;
  const big = "0123456789abcdef".repeat(64 * 1024); // 1 MiB: more than one flow-control window

  beforeAll(async () => {
    const htdocs = join(dir, "htdocs");
    await mkdir(htdocs);
    await writeFile(join(htdocs, "hello.txt"), "hello from nghttpd\n");
    await writeFile(join(htdocs, "big.txt"), big);
    for (let i = 0; i < 10; i++) await writeFile(join(htdocs, `f${i}.txt`), `file ${i}`);
    port = await freePort();
    const started = await startPeer(
      NGHTTPD,
      [
        // -v prints the line that says it listens (and logs every frame).
        "-v",
        "--address=127.0.0.1",
        `--htdocs=${htdocs}`,
        String(port),
        join(dir, "key.pem"),
        join(dir, "cert.pem"),
      ],
      /listen 127\.0\.0\.1:(\d+)/,
      dir,
    );
    peer = started.peer;
    base = `https://localhost:${port}`;
  });
  afterAll(() => peer?.stop());

  it("GETs a file over h2: resp.version is 2.0", async () => {
    await using resp = await session().get(`${base}/hello.txt`);
    expect(resp.status).toBe(200);
    expect(resp.version).toEqual({ major: 2, minor: 0 });
    expect(await resp.text()).toBe("hello from nghttpd\n");
  });

  it("reads a 1 MiB file whole", async () => {
    await using resp = await session().get(`${base}/big.txt`);
    expect(resp.contentLength).toBe(big.length);
    expect(await resp.text()).toBe(big);
  });

  it("a 404 from nghttpd is a response like any other", async () => {
    await using resp = await session().get(`${base}/missing.txt`);
    expect(resp.status).toBe(404);
    expect(resp.reason).toBe("Not Found");
  });

  it("ten concurrent requests go over a single connection", async () => {
    const s = session();
    let texts: string[] = [];
    const opened = await connectionsDuring(port, async () => {
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) => s.get(`${base}/f${i}.txt`)),
      );
      texts = await Promise.all(responses.map((r) => r.text()));
    });
    expect(texts).toEqual(Array.from({ length: 10 }, (_, i) => `file ${i}`));
    expect(opened).toBe(1);
  });
});

describe.skipIf(!hasPeer("python3-hypercorn", "openssl"))("http2 client against hypercorn", () => {
  let peer: Peer;
  let base: string;
  let port: number;

  beforeAll(async () => {
    const started = await startPeer(
      PYTHON,
      [
        "-m",
        "hypercorn",
        "--certfile",
        join(dir, "cert.pem"),
        "--keyfile",
        join(dir, "key.pem"),
        "--bind",
        "127.0.0.1:0",
        "--error-logfile",
        "-",
        "h2_asgi_app:app",
      ],
      /Running on https:\/\/127\.0\.0\.1:(\d+)/,
      import.meta.dirname,
    );
    peer = started.peer;
    port = Number(started.match);
    base = `https://localhost:${port}`;
  });
  afterAll(() => peer?.stop());

  it("POSTs a body: the app sees HTTP/2 and its length", async () => {
    await using resp = await session().post(`${base}/echo`, { data: "posted over h2" });
    expect(resp.version).toEqual({ major: 2, minor: 0 });
    expect(await resp.json()).toMatchObject({
      method: "POST",
      httpVersion: "2",
      body: "posted over h2",
      contentLength: "14",
    });
  });

  it("streams an upload of unknown length", async () => {
    const data = Readable.from(["streamed ", "in ", "parts"]);
    await using resp = await session().put(`${base}/echo`, { data });
    expect(await resp.json()).toMatchObject({
      method: "PUT",
      body: "streamed in parts",
      contentLength: null,
    });
  });

  it("follows a redirect and sends the cookie it set", async () => {
    await using resp = await session().get(`${base}/redirect`);
    expect(resp.history.map((r) => r.status)).toEqual([302]);
    expect(resp.url.pathname).toBe("/echo");
    expect(await resp.json()).toMatchObject({ method: "GET", cookie: "sort=rye" });
  });

  it("decompresses a gzip body", async () => {
    await using resp = await session().get(`${base}/gzip`);
    expect(resp.headers.get("Content-Encoding")).toBe("gzip");
    expect(await resp.text()).toBe("inflated by the client");
  });

  it("reads a streamed response", async () => {
    await using resp = await session().get(`${base}/stream`);
    expect(await resp.text()).toBe("chunk 0;chunk 1;chunk 2;");
  });

  it("sockRead ends a stream the server leaves silent", async () => {
    const resp = await session({ timeout: { sockRead: 300 } }).get(`${base}/stall`);
    expect(await rejection(resp.read())).toBeInstanceOf(SocketTimeoutError);
  });

  it("concurrent POSTs and GETs share one connection", async () => {
    const s = session();
    let bodies: unknown[] = [];
    const opened = await connectionsDuring(port, async () => {
      const responses = await Promise.all([
        ...Array.from({ length: 4 }, (_, i) => s.post(`${base}/echo`, { data: `p${i}` })),
        ...Array.from({ length: 4 }, () => s.get(`${base}/stream`)),
      ]);
      bodies = await Promise.all(responses.map((r) => r.text()));
    });
    expect(bodies).toHaveLength(8);
    expect(opened).toBe(1);
  });
});
