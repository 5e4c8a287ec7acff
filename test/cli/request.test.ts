// The request commands (`aiohttp-ts get|post|... <url>`) run as a child process against a
// server in this process that records what it was sent.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { styleText } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_COMMANDS } from "../../src/cli/usage.js";
import { WSMsgType, web } from "../../src/index.js";
import { freePort, useAppForAll } from "../helpers.js";
import { runCli, runOnTerminal, startCli } from "./cli-process.js";

/** What the /echo route saw. */
interface Seen {
  method: string;
  headers: Record<string, string>;
  body: string;
}

const BYTES = Buffer.alloc(300_000, "ab");
const wsCloses: Array<number | null> = [];

function makeApp(): web.Application {
  const app = new web.Application();
  app.router.addRoute("*", "/echo", async (request) =>
    web.jsonResponse({
      method: request.method,
      headers: Object.fromEntries(request.headers.entries()),
      body: await request.text(),
    }),
  );
  app.router.addGet("/status/{code}", (request) => {
    return new web.Response({ status: Number(request.matchInfo.code), text: "status" });
  });
  app.router.addGet("/moved", () => {
    throw new web.HTTPFound("/echo");
  });
  app.router.addGet("/bytes", () => new web.Response({ body: BYTES }));
  app.router.addGet(
    "/binary",
    () => new web.Response({ body: Buffer.from([0x89, 0x50, 0, 0, 1]) }),
  );
  app.router.addGet("/ws", async (request) => {
    // autoclose off: the close frame is answered after the messages before it are echoed.
    // With autoclose, `ws` answers it on arrival, and piped input (which closes right after
    // its last line) would lose the last echoes.
    const ws = new web.WebSocketResponse({ autoclose: false });
    await ws.prepare(request);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) await ws.sendStr(`echo: ${msg.data}`);
    }
    await ws.close();
    wsCloses.push(ws.closeCode);
    return ws;
  });
  return app;
}

const port = useAppForAll(makeApp);
const url = (path: string): string => `http://127.0.0.1:${port()}${path}`;

/** The body part of a full (head, blank line, body) output. */
function bodyOf(stdout: string): string {
  const blank = stdout.indexOf("\n\n");
  expect(blank, stdout).toBeGreaterThan(0);
  return stdout.slice(blank + 2);
}

describe("aiohttp-ts get", () => {
  it("prints the status line, the headers and the JSON body pretty-printed", async () => {
    const { code, stdout, stderr } = await runCli(["get", url("/echo")]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^200 OK\n/);
    expect(stdout).toMatch(/\nContent-Type: application\/json; charset=utf-8\n/i);
    const body = bodyOf(stdout);
    expect(body).toContain('\n  "method": "GET",\n');
    expect((JSON.parse(body) as Seen).method).toBe("GET");
  });

  it("writes no escape codes to a pipe", async () => {
    const { stdout } = await runCli(["get", url("/echo")]);
    expect(stdout).not.toContain("\u001b");
  });

  it("colours the output when FORCE_COLOR asks for it, even on a pipe", async () => {
    const { stdout } = await runCli(["get", url("/echo")], { env: { FORCE_COLOR: "1" } });
    expect(stdout).toContain("\u001b[");
  });

  it("-b prints the body only", async () => {
    const { stdout } = await runCli(["get", url("/status/200"), "-b"]);
    expect(stdout).toBe("status");
  });

  it("sends -H headers, repeated ones included", async () => {
    const { stdout } = await runCli([
      "get",
      url("/echo"),
      "-b",
      "-H",
      "X-One: 1",
      "-H",
      "X-Two:two",
    ]);
    const seen = JSON.parse(stdout) as Seen;
    expect(seen.headers["x-one"] ?? seen.headers["X-One"]).toBe("1");
    expect(seen.headers["x-two"] ?? seen.headers["X-Two"]).toBe("two");
  });

  it("copies a body that is not JSON to a pipe byte for byte", async () => {
    const { stdout } = await runCli(["get", url("/bytes"), "-b"]);
    expect(stdout).toBe(BYTES.toString("latin1"));
  });

  it("ends quietly when the reader closes the pipe early (| head)", async () => {
    // 300 kB is more than a pipe holds: the command is still writing when the pipe closes.
    const cli = startCli(["get", url("/bytes")]);
    await cli.waitFor(/^200 OK\n/);
    cli.child.stdout.destroy();
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toBe("");
  });

  it("completes a URL without a scheme, and :port/path, as httpie does", async () => {
    const bare = await runCli(["get", `127.0.0.1:${port()}/status/200`, "-b"]);
    expect(bare.stdout).toBe("status");
    const short = await runCli(["get", `:${port()}/status/200`, "-b"]);
    expect(short.stdout).toBe("status");
  });
});

describe("request bodies and methods", () => {
  it("post -d sends the text as the body", async () => {
    const { code, stdout } = await runCli(["post", url("/echo"), "-b", "-d", "hello=world"]);
    expect(code).toBe(0);
    const seen = JSON.parse(stdout) as Seen;
    expect(seen).toMatchObject({ method: "POST", body: "hello=world" });
  });

  describe("-d @file", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-cli-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("sends the file's bytes", async () => {
      const file = join(dir, "body.txt");
      await writeFile(file, "from a file\n");
      const { stdout } = await runCli(["put", url("/echo"), "-b", "-d", `@${file}`]);
      expect(JSON.parse(stdout)).toMatchObject({ method: "PUT", body: "from a file\n" });
    });

    it("@- sends stdin", async () => {
      const { stdout } = await runCli(["post", url("/echo"), "-b", "-d", "@-"], { input: "piped" });
      expect(JSON.parse(stdout)).toMatchObject({ body: "piped" });
    });

    it("a missing file fails with exit 1 and its name", async () => {
      const { code, stderr } = await runCli(["post", url("/echo"), "-d", `@${join(dir, "nope")}`]);
      expect(code).toBe(1);
      expect(stderr).toContain(`cannot read ${join(dir, "nope")}`);
    });

    it("-o writes the body to the file, with no progress bar when stderr is not a terminal", async () => {
      const file = join(dir, "download.bin");
      const { code, stdout, stderr } = await runCli(["get", url("/bytes"), "-o", file]);
      expect(code).toBe(0);
      expect(stderr).toBe("");
      expect(stdout).toMatch(/^200 OK\n/);
      expect((await readFile(file)).equals(BYTES)).toBe(true);
    });
  });

  it("--json builds a JSON object: k=v strings, k:=v JSON values", async () => {
    const { stdout } = await runCli([
      "post",
      url("/echo"),
      "-b",
      "--json",
      "name=Ada",
      "--json",
      "age:=36",
      "-j",
      "admin:=true",
      "--json",
      "tags:=[1,2]",
    ]);
    const seen = JSON.parse(stdout) as Seen;
    expect(seen.headers["content-type"] ?? seen.headers["Content-Type"]).toMatch(
      /^application\/json/,
    );
    expect(JSON.parse(seen.body)).toEqual({ name: "Ada", age: 36, admin: true, tags: [1, 2] });
  });

  it.each(REQUEST_COMMANDS.filter((c) => c !== "head" && c !== "get"))(
    "%s sends that method",
    async (command) => {
      const { stdout } = await runCli([command, url("/echo"), "-b"]);
      expect((JSON.parse(stdout) as Seen).method).toBe(command.toUpperCase());
    },
  );

  it("head prints the head and no body", async () => {
    const { code, stdout } = await runCli(["head", url("/status/200")]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^200 OK\n/);
    // Every line after the status line is a header: no blank line, no body.
    const lines = stdout.split("\n");
    expect(lines.pop()).toBe("");
    expect(
      lines.slice(1).every((line) => /^[\w-]+: /.test(line)),
      stdout,
    ).toBe(true);
  });
});

describe("exit codes", () => {
  it.each([
    [200, 0],
    [404, 4],
    [500, 5],
  ])("status %i exits %i", async (status, exit) => {
    const { code, stdout } = await runCli(["get", url(`/status/${status}`)]);
    expect(stdout).toMatch(new RegExp(`^${status} `));
    expect(code).toBe(exit);
  });

  it("a redirect is followed (exit 0); with --no-follow it exits 3", async () => {
    expect((await runCli(["get", url("/moved")])).code).toBe(0);
    const { code, stdout } = await runCli(["get", url("/moved"), "--no-follow"]);
    expect(stdout).toMatch(/^302 Found\n/);
    expect(code).toBe(3);
  });

  it("a refused connection exits 1 with one line naming the URL", async () => {
    const target = `http://127.0.0.1:${await freePort()}/`;
    const { code, stderr, stdout } = await runCli(["get", target]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(new RegExp(`^aiohttp-ts: GET ${target} failed: .*ECONNREFUSED.*\\n$`));
  });
});

describe("--timeout", () => {
  it("gives up on a server that never answers, exit 1", async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    try {
      const target = `http://127.0.0.1:${address.port}/`;
      const { code, stderr } = await runCli(["get", target, "--timeout", "0.3"]);
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`^aiohttp-ts: GET ${target} failed: .*time`, "i"));
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("on a terminal", () => {
  it("colours the status line and the header names", async () => {
    const { code, stdout } = await runOnTerminal(["get", url("/echo")]);
    expect(code).toBe(0);
    expect(stdout).toContain(styleText("green", "200 OK", { validateStream: false }));
    expect(stdout).toContain(styleText("cyan", "content-type", { validateStream: false }));
  });

  it("NO_COLOR switches the colours off", async () => {
    const { stdout } = await runOnTerminal(["get", url("/echo")], { env: { NO_COLOR: "1" } });
    expect(stdout).toMatch(/^200 OK\r\n/);
    expect(stdout).not.toContain("\u001b[");
  });

  it("does not write a binary body, and says how to get it", async () => {
    const { code, stdout } = await runOnTerminal(["get", url("/binary")]);
    expect(code).toBe(0);
    expect(stdout).toContain("binary body (5 bytes, application/octet-stream) not shown");
    expect(stdout).toContain("use -o FILE");
  });

  describe("-o", () => {
    let dir = "";
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-cli-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("draws a progress bar with the total, the rate and the ETA on stderr", async () => {
      const file = join(dir, "download.bin");
      const { code, stdout } = await runOnTerminal(["get", url("/bytes"), "-o", file, "-b"]);
      expect(code).toBe(0);
      expect(stdout).toMatch(
        /\[#{24}\] 100% {2}300\.0 kB \/ 300\.0 kB {2}[\d.]+ [kMG]?B\/s {2}ETA 0:00/,
      );
      expect((await readFile(file)).equals(BYTES)).toBe(true);
    });
  });
});

describe("--ws", () => {
  it("sends each stdin line, prints the answers, and closes with 1000 at the end of input", async () => {
    const before = wsCloses.length;
    const { code, stdout, stderr } = await runCli(["get", url("/ws"), "--ws"], {
      input: "one\ntwo\n",
    });
    expect(stdout, stderr).toBe("echo: one\necho: two\n");
    expect(code).toBe(0);
    expect(wsCloses.slice(before)).toEqual([1000]);
  });
});

describe("bad arguments", () => {
  it.each([
    [["get"], "missing <url>"],
    [["get", "http://x", "http://y"], 'unexpected argument "http://y"'],
    [["get", "http://x", "--bogus"], "Unknown option '--bogus'"],
    [["post", "http://x", "--json", "novalue"], '--json takes k=v or k:=json, not "novalue"'],
    [["post", "http://x", "--json", "n:=nope"], "--json n:= needs a JSON value"],
    [["post", "http://x", "-d", "a", "--json", "b=c"], "-d and --json cannot be used together"],
    [["get", "http://x", "-H", "NoColon"], '-H takes "Name: value"'],
    [["get", "http://x", "--timeout", "soon"], '--timeout must be a number >= 0, not "soon"'],
  ])("%j exits 2 with the error and the usage line", async (args, message) => {
    const { code, stderr, stdout } = await runCli(args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain(message);
    expect(stderr).toContain(`Usage: aiohttp-ts ${args[0]} <url> [options]`);
  });

  it("an unknown command exits 2 with the top-level usage line", async () => {
    const { code, stderr } = await runCli(["fetch", "http://x"]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      "aiohttp-ts: unknown command \"fetch\"\nUsage: aiohttp-ts <command> [options]\nTry 'aiohttp-ts --help' for more.\n",
    );
  });

  it("no command at all prints the help on stderr and exits 2", async () => {
    const { code, stderr } = await runCli([]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Usage: aiohttp-ts <command> \[options\]\n/);
  });
});

describe("--help", () => {
  it.each([[], ["serve"], ...REQUEST_COMMANDS.map((c) => [c])])(
    "%j --help prints the usage and exits 0",
    async (...command) => {
      for (const flag of ["--help", "-h"]) {
        const { code, stdout } = await runCli([...command, flag]);
        expect(code).toBe(0);
        const name = command[0] === undefined ? "<command>" : command[0];
        expect(stdout).toMatch(new RegExp(`^Usage: aiohttp-ts ${name.replace(/[<>]/g, "\\$&")} `));
      }
    },
  );
});
