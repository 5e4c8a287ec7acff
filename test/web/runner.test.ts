// Running an application: AppRunner with TCP, unix-socket, pre-bound and TLS sites, and runApp
// (banner, Promise<Application>, shutdown on an AbortSignal and, in a child process, on
// SIGTERM / SIGINT).
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { web } from "../../src/index.js";
import {
  bannerPort,
  httpSend,
  quiet,
  type ServerProcess,
  selfSignedCert,
  startServerProcess,
} from "../helpers.js";
import { hasPeer } from "../peers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function helloApp(): web.Application {
  const app = new web.Application({ logger: quiet });
  app.router.addGet("/", (req) => new web.Response({ text: `hello over ${req.scheme}` }));
  return app;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "aiohttp-ts-runner-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("AppRunner and sites", () => {
  let runner: web.AppRunner | undefined;
  afterEach(async () => {
    await runner?.cleanup();
    runner = undefined;
  });

  it("serves on a TCPSite bound to port 0 and reports the real port", async () => {
    runner = new web.AppRunner(helloApp(), { accessLog: null });
    await runner.setup();
    const site = new web.TCPSite(runner, "127.0.0.1", 0);
    await site.start();
    expect(site.port).toBeGreaterThan(0);
    expect(site.name).toBe(`http://127.0.0.1:${site.port}`);
    expect(runner.addresses).toEqual([expect.objectContaining({ port: site.port })]);
    const reply = await httpSend(site.port);
    expect(reply).toMatchObject({ status: 200, body: "hello over http" });
  });

  it("serves several sites from one runner", async () => {
    runner = new web.AppRunner(helloApp(), { accessLog: null });
    await runner.setup();
    const a = new web.TCPSite(runner, "127.0.0.1", 0);
    const b = new web.TCPSite(runner, "127.0.0.1", 0);
    await a.start();
    await b.start();
    expect(a.port).not.toBe(b.port);
    expect((await httpSend(a.port)).status).toBe(200);
    expect((await httpSend(b.port)).status).toBe(200);
    expect(runner.sites.size).toBe(2);
  });

  it("refuses to start a site before setup()", () => {
    const r = new web.AppRunner(helloApp(), { accessLog: null });
    const site = new web.TCPSite(r, "127.0.0.1", 0);
    return expect(site.start()).rejects.toThrow(/setup\(\)/);
  });

  it("refuses a second setup()", async () => {
    runner = new web.AppRunner(helloApp(), { accessLog: null });
    await runner.setup();
    await expect(runner.setup()).rejects.toThrow(/already set up/);
  });

  it("rejects start() with EADDRINUSE when the port is taken", async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      runner = new web.AppRunner(helloApp(), { accessLog: null });
      await runner.setup();
      const site = new web.TCPSite(runner, "127.0.0.1", (taken.address() as AddressInfo).port);
      await expect(site.start()).rejects.toMatchObject({ code: "EADDRINUSE" });
    } finally {
      taken.close();
    }
  });

  it("stops listening after cleanup()", async () => {
    runner = new web.AppRunner(helloApp(), { accessLog: null });
    await runner.setup();
    const site = new web.TCPSite(runner, "127.0.0.1", 0);
    await site.start();
    await runner.cleanup();
    await expect(httpSend(site.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("treats a second cleanup() as a no-op", async () => {
    const events: string[] = [];
    const app = helloApp();
    app.onCleanup.push(() => events.push("cleanup"));
    runner = new web.AppRunner(app, { accessLog: null });
    await runner.setup();
    await runner.cleanup();
    await runner.cleanup();
    expect(events).toEqual(["cleanup"]);
  });

  it("cleans up through await using", async () => {
    const events: string[] = [];
    const app = helloApp();
    app.onCleanup.push(() => events.push("cleanup"));
    {
      await using r = new web.AppRunner(app, { accessLog: null });
      await r.setup();
    }
    expect(events).toEqual(["cleanup"]);
  });

  it("serves on a UnixSite at a socket path", async () => {
    const path = join(tmp, "unix-site.sock");
    runner = new web.AppRunner(helloApp(), { accessLog: null });
    await runner.setup();
    const site = new web.UnixSite(runner, path);
    await site.start();
    expect(site.name).toBe(`http://unix:${path}:`);
    const reply = await httpSend({ socketPath: path });
    expect(reply).toMatchObject({ status: 200, body: "hello over http" });
  });

  it("serves on a SockSite over an already-bound net.Server", async () => {
    const bound = createNetServer();
    await new Promise<void>((resolve) => bound.listen(0, "127.0.0.1", resolve));
    const port = (bound.address() as AddressInfo).port;
    runner = new web.AppRunner(helloApp(), { accessLog: null });
    await runner.setup();
    const site = new web.SockSite(runner, bound);
    await site.start();
    expect(site.name).toBe(`http://127.0.0.1:${port}`);
    const reply = await httpSend(port);
    expect(reply).toMatchObject({ status: 200, body: "hello over http" });
  });

  it("refuses reusePort where Node cannot do it, naming the version", () => {
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
    const supported = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
    const r = new web.AppRunner(helloApp(), { accessLog: null });
    const make = (): web.TCPSite => new web.TCPSite(r, "127.0.0.1", 0, { reusePort: true });
    if (supported) expect(make).not.toThrow();
    else expect(make).toThrow(/reusePort needs Node\.js/);
  });
});

describe.skipIf(!hasPeer("openssl"))("HTTPS", () => {
  let key: string;
  let cert: string;
  beforeAll(async () => {
    ({ key, cert } = await selfSignedCert(tmp));
  });

  it("serves HTTPS on a TCPSite given ssl options, and the request knows it is secure", async () => {
    const runner = new web.AppRunner(helloApp(), { accessLog: null });
    await runner.setup();
    try {
      const site = new web.TCPSite(runner, "127.0.0.1", 0, { ssl: { key, cert } });
      await site.start();
      expect(site.name).toBe(`https://127.0.0.1:${site.port}`);
      const reply = await httpSend(site.port, "/", { tls: true });
      expect(reply).toMatchObject({ status: 200, body: "hello over https" });
    } finally {
      await runner.cleanup();
    }
  });

  it("does not answer plain HTTP on an HTTPS site", async () => {
    const runner = new web.AppRunner(helloApp(), { accessLog: null });
    await runner.setup();
    try {
      const site = new web.TCPSite(runner, "127.0.0.1", 0, { ssl: { key, cert } });
      await site.start();
      await expect(httpSend(site.port)).rejects.toThrow();
    } finally {
      await runner.cleanup();
    }
  });

  it("serves HTTPS from runApp with ssl", async () => {
    const ac = new AbortController();
    let banner = "";
    const running = web.runApp(helloApp(), {
      host: "127.0.0.1",
      port: 0,
      ssl: { key, cert },
      accessLog: null,
      handleSignals: false,
      signal: ac.signal,
      print: (m) => {
        banner = m;
      },
    });
    await vi.waitFor(() => expect(banner).toContain("https://"));
    const reply = await httpSend(bannerPort(banner), "/", { tls: true });
    expect(reply.body).toBe("hello over https");
    ac.abort();
    await running;
  });
});

describe("runApp", () => {
  it("prints a banner with the address, serves, and resolves after shutdown", async () => {
    const events: string[] = [];
    const app = helloApp();
    app.onCleanup.push(() => events.push("cleanup"));
    const ac = new AbortController();
    const printed: string[] = [];
    const running = web.runApp(app, {
      host: "127.0.0.1",
      port: 0,
      accessLog: null,
      handleSignals: false,
      signal: ac.signal,
      print: (m) => printed.push(m),
    });
    await vi.waitFor(() => expect(printed).toHaveLength(1));
    expect(printed[0]).toMatch(
      /^======== Running on http:\/\/127\.0\.0\.1:\d+ ========\n\(Press CTRL\+C to quit\)$/,
    );
    const reply = await httpSend(bannerPort(printed[0] as string));
    expect(reply.body).toBe("hello over http");
    expect(events).toEqual([]);
    ac.abort();
    await running;
    expect(events).toEqual(["cleanup"]);
  });

  it("accepts a Promise of an Application", async () => {
    const ac = new AbortController();
    let banner = "";
    const running = web.runApp(Promise.resolve(helloApp()), {
      host: "127.0.0.1",
      port: 0,
      accessLog: null,
      handleSignals: false,
      signal: ac.signal,
      print: (m) => {
        banner = m;
      },
    });
    await vi.waitFor(() => expect(banner).not.toBe(""));
    expect((await httpSend(bannerPort(banner))).status).toBe(200);
    ac.abort();
    await running;
  });

  it("prints the banner with console.log by default", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      const ac = new AbortController();
      const running = web.runApp(helloApp(), {
        host: "127.0.0.1",
        port: 0,
        accessLog: null,
        handleSignals: false,
        signal: ac.signal,
      });
      await vi.waitFor(() => expect(log).toHaveBeenCalledTimes(1));
      expect(String(log.mock.calls[0]?.[0])).toMatch(/^======== Running on http:\/\/127\.0\.0\.1:/);
      ac.abort();
      await running;
    } finally {
      log.mockRestore();
    }
  });

  it("prints nothing with print: null", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const path = join(tmp, "print-null.sock");
    try {
      const ac = new AbortController();
      let started = false;
      const app = helloApp();
      app.onStartup.push(() => {
        started = true;
      });
      const running = web.runApp(app, {
        path,
        print: null,
        accessLog: null,
        handleSignals: false,
        signal: ac.signal,
      });
      await vi.waitFor(() => expect(started).toBe(true));
      await vi.waitFor(async () => expect((await httpSend({ socketPath: path })).status).toBe(200));
      ac.abort();
      await running;
      expect(log).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
    }
  });

  it("serves on a unix socket path and names it in the banner", async () => {
    const path = join(tmp, "run-app.sock");
    const ac = new AbortController();
    let banner = "";
    const running = web.runApp(helloApp(), {
      path,
      accessLog: null,
      handleSignals: false,
      signal: ac.signal,
      print: (m) => {
        banner = m;
      },
    });
    await vi.waitFor(() => expect(banner).not.toBe(""));
    expect(banner).toContain(`http://unix:${path}:`);
    expect((await httpSend({ socketPath: path })).body).toBe("hello over http");
    ac.abort();
    await running;
  });

  it("returns at once when the signal is already aborted, after a full start and cleanup", async () => {
    const events: string[] = [];
    const app = helloApp();
    app.onStartup.push(() => events.push("startup"));
    app.onCleanup.push(() => events.push("cleanup"));
    await web.runApp(app, {
      host: "127.0.0.1",
      port: 0,
      accessLog: null,
      handleSignals: false,
      signal: AbortSignal.abort(),
      print: null,
    });
    expect(events).toEqual(["startup", "cleanup"]);
  });

  it("rejects when it cannot bind, after running the cleanup", async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const events: string[] = [];
    const app = helloApp();
    app.onCleanup.push(() => events.push("cleanup"));
    try {
      await expect(
        web.runApp(app, {
          host: "127.0.0.1",
          port: (taken.address() as AddressInfo).port,
          accessLog: null,
          handleSignals: false,
          print: null,
        }),
      ).rejects.toMatchObject({ code: "EADDRINUSE" });
      expect(events).toEqual(["cleanup"]);
    } finally {
      taken.close();
    }
  });

  it("leaves no SIGINT/SIGTERM listeners behind after it returns", async () => {
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    const ac = new AbortController();
    let banner = "";
    const running = web.runApp(helloApp(), {
      host: "127.0.0.1",
      port: 0,
      accessLog: null,
      signal: ac.signal,
      print: (m) => {
        banner = m;
      },
    });
    await vi.waitFor(() => expect(banner).not.toBe(""));
    expect(process.listenerCount("SIGTERM")).toBe((before[1] as number) + 1);
    ac.abort();
    await running;
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual(before);
  });
});

describe("runApp in a process", () => {
  const script = `
import { web } from ${JSON.stringify(new URL("src/index.ts", `file://${ROOT}`).href)};
const app = new web.Application();
app.router.addGet("/", () => new web.Response({ text: "ok" }));
app.onCleanup.push(() => { console.log("onCleanup ran"); });
await web.runApp(app, { host: "127.0.0.1", port: 0, accessLog: null });
console.log("runApp returned");
`;

  async function startChild(): Promise<ServerProcess> {
    const file = join(tmp, "serve.mts");
    await writeFile(file, script);
    return startServerProcess(["--import", "tsx", file], { cwd: ROOT });
  }

  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`exits with code 0 after ${sig}, having run onCleanup`, async () => {
      const server = await startChild();
      try {
        expect((await httpSend(Number(new URL(server.baseUrl).port))).body).toBe("ok");
        const exited = once(server.child, "exit");
        server.child.kill(sig);
        const [code, signal] = (await exited) as [number | null, string | null];
        expect({ code, signal }).toEqual({ code: 0, signal: null });
        expect(server.stdout()).toContain("onCleanup ran\nrunApp returned\n");
      } finally {
        server.kill();
      }
    });
  }
});
