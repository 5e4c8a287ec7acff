// Peers we did not write read files our FileResponse sends: curl (--range, several ranges,
// --compressed against a precompressed sibling) and Python aiohttp's client (a range, and a
// compressed body it decodes itself).

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { web } from "../../src/index.js";
import { useTestClients } from "../helpers.js";
import { hasPeer } from "../peers.js";
import { aiohttpRequest, curl, onlyTransfer, pyHeaders } from "./helpers.js";

const peersMissing = !hasPeer("curl", "python3-aiohttp");

const serve = useTestClients();

/** 26 lines of 40 characters: any byte range is easy to check by eye. */
const DATA = Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i).repeat(39)).join(
  "\n",
);
const PAGE = "<p>a page sent precompressed by aiohttp-ts</p>\n".repeat(50);

describe.skipIf(peersMissing)("curl and Python aiohttp read a FileResponse", () => {
  let dir: string;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "file-interop-"));
    await writeFile(join(dir, "data.txt"), DATA);
    await writeFile(join(dir, "page.html"), PAGE);
    await writeFile(join(dir, "page.html.gz"), gzipSync(PAGE));
    await writeFile(join(dir, "page.html.br"), brotliCompressSync(PAGE));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    const app = new web.Application();
    app.router.addGet(
      "/{name}",
      (request) => new web.FileResponse(join(dir, request.matchInfo.name!)),
    );
    const client = await serve(app);
    base = `http://127.0.0.1:${client.server.port}`;
  }

  test("curl --range gets the bytes asked for with 206 and Content-Range", async () => {
    await start();
    const t = onlyTransfer(await curl({ url: `${base}/data.txt`, args: ["--range", "40-79"] }));
    expect(t.status).toBe(206);
    expect(t.headers["content-range"]).toEqual([`bytes 40-79/${DATA.length}`]);
    expect(t.text).toBe(DATA.slice(40, 80));
  });

  test("curl --range with several ranges gets a multipart/byteranges body", async () => {
    await start();
    const t = onlyTransfer(await curl({ url: `${base}/data.txt`, args: ["--range", "0-3,80-83"] }));
    expect(t.status).toBe(206);
    const type = t.headers["content-type"]?.[0] ?? "";
    const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(type)?.[1];
    expect(boundary).toBeDefined();
    expect(t.text).toBe(
      `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Range: bytes 0-3/${DATA.length}\r\n\r\nAAAA\r\n` +
        `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Range: bytes 80-83/${DATA.length}\r\n\r\nCCCC\r\n--${boundary}--\r\n`,
    );
  });

  test("curl --compressed gets a precompressed sibling and decodes it", async () => {
    await start();
    const t = onlyTransfer(await curl({ url: `${base}/page.html`, args: ["--compressed"] }));
    expect(t.status).toBe(200);
    expect(["br", "gzip"]).toContain(t.headers["content-encoding"]?.[0]);
    expect(t.headers.vary).toEqual(["Accept-Encoding"]);
    expect(t.headers["content-type"]).toEqual(["text/html; charset=utf-8"]);
    expect(t.text).toBe(PAGE);
  });

  test("Python aiohttp reads a range", async () => {
    await start();
    const result = await aiohttpRequest({
      url: `${base}/data.txt`,
      headers: [["Range", "bytes=-39"]],
    });
    expect(result.status).toBe(206);
    expect(pyHeaders(result, "Content-Range")).toEqual([
      `bytes ${DATA.length - 39}-${DATA.length - 1}/${DATA.length}`,
    ]);
    expect(result.body).toBe("Z".repeat(39));
  });

  test("Python aiohttp decodes a precompressed sibling it asked for", async () => {
    await start();
    const result = await aiohttpRequest({ url: `${base}/page.html` });
    expect(result.status).toBe(200);
    expect(["br", "gzip"]).toContain(pyHeaders(result, "Content-Encoding")[0]);
    expect(result.body).toBe(PAGE);
  });
});
