// Hostile request targets against a static route: nothing outside its directory is served, and
// the status for a path outside is the same whether the file there exists or not, so a probe
// learns nothing. Requests go over a raw socket because HTTP clients resolve `..` and
// re-encode the path before sending it.

import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { getRequest, rawExchange, useAppForAll } from "../helpers.js";

const SECRET = "TOP SECRET";
/** A file that exists outside the root, and one that does not. */
const EXISTING = "outside.txt";
const MISSING = "not-there.txt";

let base: string;
let root: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "aiohttp-ts-traversal-"));
  root = join(base, "root");
  await mkdir(join(root, "sub"), { recursive: true });
  await mkdir(join(base, "outside-dir"));
  await writeFile(join(base, EXISTING), SECRET);
  await writeFile(join(base, "outside-dir", "secret.txt"), SECRET);
  await writeFile(join(base, "outside.gz"), gzipSync(SECRET));
  await writeFile(join(root, "hello.txt"), "public");
  await writeFile(join(root, "page.txt"), "public page");
  await symlink(join(base, EXISTING), join(root, "link-out"));
  await symlink(join(base, MISSING), join(root, "link-out-missing"));
  await symlink(join(base, "outside-dir"), join(root, "dir-out"));
  await symlink("loop", join(root, "loop"));
  // Precompressed siblings that lead outside: one beside a real file, one alone.
  await symlink(join(base, "outside.gz"), join(root, "page.txt.gz"));
  await symlink(join(base, "outside.gz"), join(root, "page.txt.br"));
  await symlink(join(base, "outside.gz"), join(root, "ghost.txt.gz"));
  // One that stays inside: allowed, as a symlinked file inside the root is.
  await writeFile(join(root, "inner.txt"), "inner plain");
  await writeFile(join(root, "inner-content.gz"), gzipSync("inner compressed"));
  await symlink("inner-content.gz", join(root, "inner.txt.gz"));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

interface Answer {
  status: number;
  raw: string;
}

/** Sends `target` exactly as written. */
async function get(port: number, target: string, headers = ""): Promise<Answer> {
  const reply = await rawExchange(port, getRequest(target, headers), { requireClose: true });
  const status = Number(reply.statusLine.split(" ")[1]);
  return { status, raw: reply.raw };
}

/** A server with one static route; stopped after the tests of its `describe`. */
function useStaticServer(prefix: string, options: web.StaticOptions): () => number {
  return useAppForAll(() => {
    const app = new web.Application();
    app.router.addStatic(prefix, root, options);
    return app;
  });
}

/**
 * Request targets that try to reach `name` one level above the root (`{}` stands for it),
 * each written the way some server or proxy once failed to catch.
 */
const TRAVERSALS: ReadonlyArray<readonly [string, string]> = [
  ["literal ..", "/static/../{}"],
  ["literal .. from a subdirectory", "/static/sub/../../{}"],
  ["%2e%2e", "/static/%2e%2e/{}"],
  ["%2E%2E", "/static/%2E%2E/{}"],
  [".%2e", "/static/.%2e/{}"],
  ["..%2f", "/static/..%2f{}"],
  ["..%2F", "/static/..%2F{}"],
  ["%2e%2e%2f", "/static/%2e%2e%2f{}"],
  ["..%2f from a subdirectory", "/static/sub/..%2f..%2f{}"],
  ["..%5c", "/static/..%5c{}"],
  ["..%5C", "/static/..%5C{}"],
  ["raw backslash", "/static/..\\{}"],
  ["double-encoded %252e%252e", "/static/%252e%252e/{}"],
  ["double-encoded %252f", "/static/..%252f{}"],
  ["overlong UTF-8 slash %c0%af", "/static/..%c0%af{}"],
  ["NUL after the name", "/static/..%2f{}%00"],
  ["NUL before an extension", "/static/..%2f{}%00.png"],
  ["overlong UTF-8 dots %c0%ae%c0%ae", "/static/%c0%ae%c0%ae/{}"],
  ["three-byte overlong dots %e0%80%ae", "/static/%e0%80%ae%e0%80%ae/{}"],
  ["IIS %u002e%u002e", "/static/%u002e%u002e/{}"],
  ["double-encoded backslash ..%255c", "/static/..%255c{}"],
  ["fully double-encoded %252e%252e%252f", "/static/%252e%252e%252f{}"],
  ["encoded dots and backslash %2e%2e%5c", "/static/%2e%2e%5c{}"],
  ["..;/ (path parameter)", "/static/..;/{}"],
  ["....// (stripped once is ../)", "/static/....//{}"],
  ["..././ (stripped once is ../)", "/static/..././{}"],
  ["NUL between the dots", "/static/.%00./{}"],
  ["absolute path after //", "/static//{base}/{}"],
  ["absolute path after %2f", "/static/%2f{base}%2f{}"],
  ["absolute path fully encoded", "/static/{encodedBase}%2f{}"],
];

function target(template: string, name: string): string {
  return template
    .replace("{encodedBase}", encodeURIComponent(base))
    .replace("{base}", base.slice(1))
    .replace("{}", name);
}

/** Asserts both answers refuse, with the same status, and leak nothing. */
function expectSameRefusal(existing: Answer, missing: Answer): void {
  expect([403, 404]).toContain(existing.status);
  expect(existing.status).toBe(missing.status);
  expect(existing.raw).not.toContain(SECRET);
}

describe.each([
  { followSymlinks: false, showIndex: false },
  { followSymlinks: true, showIndex: true },
])("the URL cannot leave the directory (followSymlinks: $followSymlinks)", (options) => {
  const port = useStaticServer("/static", options);

  it("the directory's own file is served (the server is up and routing)", async () => {
    const answer = await get(port(), "/static/hello.txt");
    expect(answer.status).toBe(200);
    expect(answer.raw.endsWith("public")).toBe(true);
  });

  it.each(TRAVERSALS)("%s: same refusal for an existing and a missing file", async (_, tpl) => {
    const existing = await get(port(), target(tpl, EXISTING));
    const missing = await get(port(), target(tpl, MISSING));
    expectSameRefusal(existing, missing);
  });

  it("deep ..%2f to /etc/passwd: same refusal as for a missing file there", async () => {
    const up = "..%2f".repeat(12);
    const existing = await get(port(), `/static/${up}etc%2fpasswd`);
    const missing = await get(port(), `/static/${up}etc%2fno-such-file`);
    expectSameRefusal(existing, missing);
    expect(existing.raw).not.toContain("root:");
  });

  it("a Windows drive path is refused", async () => {
    const answer = await get(port(), "/static/C:%5cWindows%5cwin.ini");
    expect(answer.status).toBe(404);
  });

  it("a NUL byte inside the directory is refused, not an error", async () => {
    const answer = await get(port(), "/static/hello.txt%00");
    expect(answer.status).toBe(404);
  });

  it("a symlink loop answers 404", async () => {
    expect((await get(port(), "/static/loop")).status).toBe(404);
  });
});

describe("symlinks that leave the directory, without followSymlinks", () => {
  const port = useStaticServer("/static", { showIndex: true });

  it("a file symlink to an existing and to a missing outside file: the same 404", async () => {
    const existing = await get(port(), "/static/link-out");
    const missing = await get(port(), "/static/link-out-missing");
    expect(existing.status).toBe(404);
    expectSameRefusal(existing, missing);
  });

  it("a directory symlink leading outside: the same 404 for existing and missing files", async () => {
    const existing = await get(port(), "/static/dir-out/secret.txt");
    const missing = await get(port(), "/static/dir-out/not-there.txt");
    expect(existing.status).toBe(404);
    expectSameRefusal(existing, missing);
  });

  it("a precompressed sibling that is a symlink leaving the root is never sent", async () => {
    const answer = await get(port(), "/static/page.txt", "Accept-Encoding: gzip, br\r\n");
    expect(answer.status).toBe(200);
    expect(answer.raw.toLowerCase()).not.toContain("content-encoding");
    expect(answer.raw.endsWith("public page")).toBe(true);
  });

  it("a precompressed symlink sibling alone does not make a missing file exist", async () => {
    const answer = await get(port(), "/static/ghost.txt", "Accept-Encoding: gzip\r\n");
    expect(answer.status).toBe(404);
  });

  it("a precompressed symlink sibling that stays inside the root is sent", async () => {
    const answer = await get(port(), "/static/inner.txt", "Accept-Encoding: gzip\r\n");
    expect(answer.status).toBe(200);
    expect(answer.raw.toLowerCase()).toContain("content-encoding: gzip");
  });

  it("a directory symlink leading outside is not listed, even with showIndex", async () => {
    const answer = await get(port(), "/static/dir-out/");
    expect(answer.status).toBe(404);
    expect(answer.raw).not.toContain("secret.txt");
  });
});

describe("symlinks that leave the directory, with followSymlinks", () => {
  const port = useStaticServer("/static", { followSymlinks: true });

  it("a symlink to an outside file is followed, as the option says", async () => {
    const answer = await get(port(), "/static/link-out");
    expect(answer.status).toBe(200);
    expect(answer.raw.endsWith(SECRET)).toBe(true);
  });

  it("a precompressed sibling that is a symlink is followed too, like the file", async () => {
    const answer = await get(port(), "/static/page.txt", "Accept-Encoding: gzip\r\n");
    expect(answer.status).toBe(200);
    expect(answer.raw.toLowerCase()).toContain("content-encoding: gzip");
  });

  it("but not `..` after a followed symlink (the URL is checked before any link)", async () => {
    const existing = await get(port(), `/static/dir-out/..%2f..%2f${EXISTING}`);
    const missing = await get(port(), `/static/dir-out/..%2f..%2f${MISSING}`);
    expectSameRefusal(existing, missing);
  });
});

describe("a static route at /", () => {
  const port = useStaticServer("/", {});

  it.each(TRAVERSALS)("%s: same refusal for an existing and a missing file", async (_, tpl) => {
    const rooted = tpl.replace("/static/", "/");
    const existing = await get(port(), target(rooted, EXISTING));
    const missing = await get(port(), target(rooted, MISSING));
    expectSameRefusal(existing, missing);
  });
});
