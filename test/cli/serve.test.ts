// `aiohttp-ts serve`: the built command serving fixture modules in a child process, learning
// the port from the banner it prints, and restarting under --reload.

import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { httpSend } from "../helpers.js";
import { BANNER_URL, FIXTURES, ROOT, runCli, startCli } from "./cli-process.js";

async function getText(url: string): Promise<string> {
  const { port, pathname } = new URL(url);
  return (await httpSend(Number(port), pathname)).body;
}

describe("aiohttp-ts serve", () => {
  it("serves a JavaScript module's factory on port 0 and prints the URL", async () => {
    const cli = startCli(["serve", "app.js:create", "--host", "127.0.0.1", "--port", "0"], {
      cwd: FIXTURES,
    });
    const [, url] = await cli.waitFor(BANNER_URL);
    expect(await getText(`${url}/`)).toBe("hello from js");
  });

  it("loads a TypeScript module through tsx and awaits its async factory", async () => {
    const cli = startCli(["serve", "app.ts:create", "-H", "127.0.0.1", "-P", "0"], {
      cwd: FIXTURES,
    });
    const [, url] = await cli.waitFor(BANNER_URL);
    expect(await getText(`${url}/`)).toBe("hello from ts");
  });

  it("gives the factory the arguments after --", async () => {
    const cli = startCli(
      ["serve", "app.js:create", "-H", "127.0.0.1", "-P", "0", "--", "--db", "x.sqlite"],
      { cwd: FIXTURES },
    );
    const [, url] = await cli.waitFor(BANNER_URL);
    expect(JSON.parse(await getText(`${url}/argv`))).toEqual(["--db", "x.sqlite"]);
  });

  it("shuts down on SIGTERM and exits 0", async () => {
    const cli = startCli(["serve", "app.js:create", "-H", "127.0.0.1", "-P", "0"], {
      cwd: FIXTURES,
    });
    await cli.waitFor(BANNER_URL);
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
  });

  it("serves with --workers 2: two processes answer, SIGTERM stops them all with exit 0", async () => {
    const cli = startCli(["serve", "app.js:create", "-H", "127.0.0.1", "-P", "0", "-w", "2"], {
      cwd: FIXTURES,
    });
    const [, url] = await cli.waitFor(BANNER_URL);
    await cli.waitFor(/2 worker processes/);
    const pids = new Set<string>();
    // The primary hands connections to the workers in turn: a few requests reach both.
    for (let i = 0; i < 8 && pids.size < 2; i++) pids.add(await getText(`${url}/pid`));
    expect(pids.size).toBe(2);
    expect(pids.has(String(cli.child.pid))).toBe(false);
    cli.child.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
  });

  it("writes access log lines in --access-log-format", async () => {
    const cli = startCli(
      ["serve", "app.js:create", "-H", "127.0.0.1", "-P", "0", "--access-log-format", "LOG %r %s"],
      { cwd: FIXTURES },
    );
    const banner = await cli.waitFor(BANNER_URL);
    await getText(`${banner[1]}/`);
    await cli.waitFor(/LOG GET \/ HTTP\/1\.1 200/);
  });

  describe("on a unix socket", () => {
    let dir = "";
    afterEach(async () => {
      if (dir !== "") await rm(dir, { recursive: true, force: true });
    });

    it("--path serves on the socket", async () => {
      dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-cli-"));
      const socketPath = join(dir, "app.sock");
      const cli = startCli(["serve", "app.js:create", "--path", socketPath], { cwd: FIXTURES });
      await cli.waitFor(/Running on http:\/\/unix:/);
      expect((await httpSend({ socketPath }, "/")).body).toBe("hello from js");
    });
  });

  it("names the exports when the factory is not one of them, exit 1", async () => {
    const { code, stderr } = await runCli(["serve", "app.js:nope"], { cwd: FIXTURES });
    expect(code).toBe(1);
    expect(stderr).toBe(
      'aiohttp-ts: app.js has no function export "nope" (its exports: create, notAFunction)\n',
    );
  });

  it("says the module file is missing, exit 1", async () => {
    const { code, stderr } = await runCli(["serve", "missing.js:create"], { cwd: FIXTURES });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^aiohttp-ts: cannot find the module file .*missing\.js\n$/);
  });

  it("rejects a bad --port with the usage line, exit 2", async () => {
    const { code, stderr } = await runCli(["serve", "app.js:create", "--port", "http"], {
      cwd: FIXTURES,
    });
    expect(code).toBe(2);
    expect(stderr).toContain('--port must be an integer >= 0, not "http"');
    expect(stderr).toContain("Usage: aiohttp-ts serve ");
  });

  it("rejects --workers 0 with the usage line, exit 2", async () => {
    const { code, stderr } = await runCli(["serve", "app.js:create", "--workers", "0"], {
      cwd: FIXTURES,
    });
    expect(code).toBe(2);
    expect(stderr).toContain('--workers must be an integer >= 1, not "0"');
  });

  it("a missing <module>:<factory> exits 2", async () => {
    const { code, stderr } = await runCli(["serve", "--port", "0"]);
    expect(code).toBe(2);
    expect(stderr).toContain("aiohttp-ts: missing <module>:<factory>\nUsage: aiohttp-ts serve ");
  });

  describe("--reload", () => {
    let dir = "";
    afterEach(async () => {
      if (dir !== "") await rm(dir, { recursive: true, force: true });
    });

    it("restarts the server when a file under the module's directory changes", async () => {
      // A project of its own: a copy of the fixture, with aiohttp-ts "installed" as a link.
      dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-reload-"));
      await mkdir(join(dir, "node_modules"));
      await symlink(ROOT, join(dir, "node_modules", "aiohttp-ts"), "dir");
      await cp(join(FIXTURES, "app.js"), join(dir, "app.js"));
      const cli = startCli(["serve", "app.js:create", "-H", "127.0.0.1", "-P", "0", "--reload"], {
        cwd: dir,
      });
      const first = await cli.waitFor(BANNER_URL);
      expect(await getText(`${first[1]}/`)).toBe("hello from js");

      const source = await readFile(join(dir, "app.js"), "utf8");
      await writeFile(join(dir, "app.js"), source.replaceAll("hello from js", "reloaded"));
      const afterBanner = first.index + first[0].length;
      const second = await cli.waitFor(BANNER_URL, afterBanner);
      expect(cli.stderr()).toMatch(/app\.js changed, restarting\n/);
      expect(await getText(`${second[1]}/`), cli.stderr() + cli.stdout()).toBe("reloaded");

      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
    });
  });
});
