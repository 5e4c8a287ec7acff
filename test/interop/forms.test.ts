// Multipart uploads from peers we did not write: `curl -F` and Python aiohttp's FormData send
// several files (one over 1 MiB, so it is spilled to a temporary file) and text fields; every
// file must arrive byte-exact.

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { web } from "../../src/index.js";
import { TestServer } from "../../src/test-utils/index.js";
import { hasPeer, PYTHON } from "../peers.js";
import { curl, onlyTransfer, run } from "./helpers.js";

const UPLOAD_SCRIPT = fileURLToPath(new URL("./aiohttp_form_upload.py", import.meta.url));

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** What the server reports of each form value. */
type Reported =
  | { name: string; value: string }
  | { name: string; filename: string; size: number; sha256: string; onDisk: boolean };

function uploadApp(): web.Application {
  const app = new web.Application({ clientMaxSize: 16 * 1024 ** 2 });
  app.router.addPost("/upload", async (request) => {
    const out: Reported[] = [];
    for (const [name, value] of await request.post()) {
      if (typeof value === "string") {
        out.push({ name, value });
        continue;
      }
      out.push({
        name,
        filename: value.filename,
        size: value.size,
        sha256: sha256(await value.read()),
        onDisk: value.path !== null,
      });
    }
    return web.jsonResponse(out);
  });
  return app;
}

interface Fixture {
  name: string;
  data: Buffer;
  path: string;
}

describe("multipart uploads from other clients", () => {
  let server: TestServer;
  let dir: string;
  let files: Fixture[];

  beforeAll(async () => {
    server = new TestServer(uploadApp());
    await server.start();
    dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-forms-"));
    const pattern = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) pattern[i] = i;
    const specs: [string, Buffer][] = [
      ["notes.txt", Buffer.from("plain text, with ünïcödé\n")],
      ["pattern.bin", pattern],
      ["large.bin", randomBytes(3 * 1024 ** 2 + 5)],
    ];
    files = await Promise.all(
      specs.map(async ([name, data]) => {
        const path = join(dir, name);
        await writeFile(path, data);
        return { name, data, path };
      }),
    );
  });

  afterAll(async () => {
    await server?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** What the server must report for the fixture files sent as fields f0, f1, f2. */
  function expectedFiles(): Reported[] {
    return files.map((f, i) => ({
      name: `f${i}`,
      filename: f.name,
      size: f.data.length,
      sha256: sha256(f.data),
      onDisk: f.data.length > 1024 ** 2,
    }));
  }

  test("curl -F uploads several files and a field, byte-exact", async (ctx) => {
    ctx.skip(!hasPeer("curl"));
    const args = [
      "-F",
      "title=holiday photos",
      ...files.flatMap((f, i) => ["-F", `f${i}=@${f.path}`]),
    ];
    const t = onlyTransfer(await curl({ url: server.makeUrl("/upload").toString(), args }));
    expect(t.status).toBe(200);
    expect(JSON.parse(t.text)).toEqual([
      { name: "title", value: "holiday photos" },
      ...expectedFiles(),
    ]);
  });

  test("Python aiohttp FormData uploads several files and a field, byte-exact", async (ctx) => {
    ctx.skip(!hasPeer("python3-aiohttp"));
    const items = ["title:holiday photos", ...files.map((f, i) => `f${i}=${f.path}`)];
    const done = await run(
      PYTHON,
      [UPLOAD_SCRIPT, server.makeUrl("/upload").toString(), ...items],
      {
        installHint: "sudo apt-get install -y python3-aiohttp",
      },
    );
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    const [status, ...body] = done.stdout.split("\n");
    expect(status).toBe("200");
    expect(JSON.parse(body.join("\n"))).toEqual([
      { name: "title", value: "holiday photos" },
      ...expectedFiles(),
    ]);
  });
});
