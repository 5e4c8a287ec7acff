// Static files (`router.addStatic`, `web.static`): what a client sees for files, directories,
// HEAD and other methods, conditional requests, listings, and the URLs `urlFor` builds.
// Hostile paths are in test/security/static-traversal.test.ts.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { web } from "../../src/index.js";
import { useTestClients } from "../helpers.js";

const serve = useTestClients();

let base: string;
let root: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "aiohttp-ts-static-"));
  root = join(base, "public");
  await mkdir(join(root, "css"), { recursive: true });
  await mkdir(join(root, "nested", "deep"), { recursive: true });
  await mkdir(join(root, "empty"));
  await writeFile(join(root, "index.html"), "<h1>home</h1>");
  await writeFile(join(root, "hello.txt"), "hello world");
  await writeFile(join(root, "css", "app.css"), "body { color: red }");
  await writeFile(join(root, "nested", "deep", "file.js"), "export {};");
  await writeFile(join(root, "with space.txt"), "spaced");
  await writeFile(join(root, "100%.txt"), "percent");
  await writeFile(join(root, ".hidden"), "dotfile");
  await symlink("hello.txt", join(root, "alias.txt"));
  await symlink("nested", join(root, "nested-alias"));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function staticApp(options: web.StaticOptions = {}, prefix = "/static"): web.Application {
  const app = new web.Application();
  app.router.addStatic(prefix, root, options);
  return app;
}

function sha256Version(content: string): string {
  const b64 = createHash("sha256").update(content).digest("base64");
  return b64.replace(/\+/g, "-").replace(/\//g, "_");
}

describe("serving files", () => {
  it("a file below the prefix is served with its content type", async () => {
    const client = await serve(staticApp());
    const resp = await client.get("/static/css/app.css");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toMatch(/^text\/css/);
    expect(await resp.text()).toBe("body { color: red }");
  });

  it("files in nested directories are served", async () => {
    const client = await serve(staticApp());
    const resp = await client.get("/static/nested/deep/file.js");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toMatch(/^(text|application)\/javascript/);
    expect(await resp.text()).toBe("export {};");
  });

  it("percent-encoded names reach the file: spaces and a literal %", async () => {
    const client = await serve(staticApp());
    const spaced = await client.get("/static/with%20space.txt");
    expect(await spaced.text()).toBe("spaced");
    const percent = await client.get("/static/100%25.txt");
    expect(percent.status).toBe(200);
    expect(await percent.text()).toBe("percent");
  });

  it("HEAD answers the headers of GET and no body", async () => {
    const client = await serve(staticApp());
    const resp = await client.head("/static/hello.txt");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-length")).toBe("11");
    expect(resp.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await resp.text()).toBe("");
  });

  it("another method answers 405 with Allow: GET,HEAD", async () => {
    const client = await serve(staticApp());
    const resp = await client.post("/static/hello.txt", { data: "x" });
    expect(resp.status).toBe(405);
    expect(resp.headers.get("allow")).toBe("GET,HEAD");
    await resp.read();
  });

  it("a missing file answers 404", async () => {
    const client = await serve(staticApp());
    const resp = await client.get("/static/nope.txt");
    expect(resp.status).toBe(404);
    await resp.read();
  });

  it("a path that only starts like the prefix is not the static route's", async () => {
    const app = staticApp();
    app.router.addGet("/statics/x", () => new web.Response({ text: "other route" }));
    const client = await serve(app);
    expect(await (await client.get("/statics/x")).text()).toBe("other route");
  });

  it("a trailing slash on the prefix is dropped, as aiohttp does", async () => {
    const app = new web.Application();
    const resource = app.router.addStatic("/assets/", root);
    expect(resource.prefix).toBe("/assets");
    const client = await serve(app);
    expect(await (await client.get("/assets/hello.txt")).text()).toBe("hello world");
  });

  it("a static route at / serves every path from the directory", async () => {
    const client = await serve(staticApp({}, "/"));
    expect(await (await client.get("/hello.txt")).text()).toBe("hello world");
    expect(await (await client.get("/css/app.css")).text()).toBe("body { color: red }");
  });

  it("the directory may be given as a file: URL", async () => {
    const app = new web.Application();
    app.router.addStatic("/static", pathToFileURL(root));
    const client = await serve(app);
    expect(await (await client.get("/static/hello.txt")).text()).toBe("hello world");
  });

  it("a directory that does not exist is refused when the route is added", () => {
    const app = new web.Application();
    expect(() => app.router.addStatic("/static", join(base, "missing"))).toThrow(/does not exist/);
    expect(() => app.router.addStatic("/static", join(root, "hello.txt"))).toThrow(
      /not a directory/,
    );
  });

  it("a chunkSize that is not a positive integer is refused when the route is added", () => {
    const app = new web.Application();
    expect(() => app.router.addStatic("/static", root, { chunkSize: 0 })).toThrow(RangeError);
    expect(() => app.router.addStatic("/static", root, { chunkSize: 1.5 })).toThrow(RangeError);
  });

  it("a small chunkSize still sends the whole file", async () => {
    const client = await serve(staticApp({ chunkSize: 3 }));
    expect(await (await client.get("/static/hello.txt")).text()).toBe("hello world");
  });

  it("a prefix without a leading slash or with a variable is refused", () => {
    const app = new web.Application();
    expect(() => app.router.addStatic("static", root)).toThrow(TypeError);
    expect(() => app.router.addStatic("/{x}", root)).toThrow(TypeError);
  });

  it("a symlink inside the directory to a file inside it is served without followSymlinks", async () => {
    const client = await serve(staticApp());
    const file = await client.get("/static/alias.txt");
    expect(await file.text()).toBe("hello world");
    const dir = await client.get("/static/nested-alias/deep/file.js");
    expect(await dir.text()).toBe("export {};");
  });

  it("hidden files are served, as aiohttp serves them", async () => {
    const client = await serve(staticApp());
    const resp = await client.get("/static/.hidden");
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("dotfile");
  });

  it("a .gz file beside the file is sent to a client that accepts gzip", async () => {
    await writeFile(join(root, "css", "site.css"), "a { color: blue }");
    await writeFile(join(root, "css", "site.css.gz"), gzipSync("a { color: blue }"));
    const client = await serve(staticApp());
    const resp = await client.get("/static/css/site.css", {
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-encoding")).toBe("gzip");
    expect(resp.headers.get("content-type")).toMatch(/^text\/css/);
    expect(resp.headers.get("vary")).toMatch(/Accept-Encoding/i);
  });

  it("If-None-Match with the ETag FileResponse sent answers 304", async () => {
    const client = await serve(staticApp());
    const first = await client.get("/static/hello.txt");
    const etag = first.headers.get("etag");
    expect(etag).toBeTruthy();
    await first.read();
    const again = await client.get("/static/hello.txt", {
      headers: { "If-None-Match": etag as string },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });
});

describe("directories", () => {
  it("a directory answers 403 without showIndex, the root too", async () => {
    const client = await serve(staticApp());
    for (const path of ["/static", "/static/", "/static/css", "/static/css/"]) {
      const resp = await client.get(path);
      expect(resp.status, path).toBe(403);
      await resp.read();
    }
  });

  it("an index.html is not served for its directory (aiohttp serves no index file)", async () => {
    const client = await serve(staticApp({ showIndex: true }));
    const resp = await client.get("/static/");
    expect(await resp.text()).not.toContain("<h1>home</h1>");
  });

  it("showIndex lists the root with links under the prefix, directories marked with /", async () => {
    const client = await serve(staticApp({ showIndex: true }));
    const resp = await client.get("/static");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await resp.text();
    expect(html).toContain("<title>Index of /</title>");
    expect(html).toContain('<li><a href="/static/css">css/</a></li>');
    expect(html).toContain('<li><a href="/static/hello.txt">hello.txt</a></li>');
    expect(html).toContain('<li><a href="/static/with%20space.txt">with space.txt</a></li>');
    expect(html).toContain('<li><a href="/static/100%25.txt">100%.txt</a></li>');
    expect(html).toContain('<li><a href="/static/nested-alias">nested-alias/</a></li>');
    expect(html).toContain('<li><a href="/static/.hidden">.hidden</a></li>');
  });

  it("showIndex lists a subdirectory, with or without a trailing slash", async () => {
    const client = await serve(staticApp({ showIndex: true }));
    for (const path of ["/static/nested", "/static/nested/"]) {
      const html = await (await client.get(path)).text();
      expect(html).toContain("<h1>Index of /nested</h1>");
      expect(html).toContain('<li><a href="/static/nested/deep">deep/</a></li>');
    }
  });

  it("HEAD of a listing answers its headers and no body", async () => {
    const client = await serve(staticApp({ showIndex: true }));
    const resp = await client.head("/static/css");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(Number(resp.headers.get("content-length"))).toBeGreaterThan(0);
    expect(await resp.text()).toBe("");
  });

  it("showIndex lists an empty directory as an empty list", async () => {
    const client = await serve(staticApp({ showIndex: true }));
    const html = await (await client.get("/static/empty")).text();
    expect(html).toContain("<ul>\n\n</ul>");
  });

  it("showIndex HTML-escapes names and percent-encodes their links", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aiohttp-ts-static-xss-"));
    try {
      await writeFile(join(dir, "<img src=0 onerror=alert(1)>.txt"), "x");
      await writeFile(join(dir, `a&b"c'.txt`), "x");
      await mkdir(join(dir, "<b>dir"));
      const app = new web.Application();
      app.router.addStatic("/static", dir, { showIndex: true });
      const client = await serve(app);
      const html = await (await client.get("/static/")).text();
      expect(html).toContain(
        '<li><a href="/static/%3Cimg%20src=0%20onerror=alert(1)%3E.txt">' +
          "&lt;img src=0 onerror=alert(1)&gt;.txt</a></li>",
      );
      expect(html).toContain(
        '<li><a href="/static/a&amp;b%22c&#x27;.txt">a&amp;b&quot;c&#x27;.txt</a></li>',
      );
      expect(html).toContain('<li><a href="/static/%3Cb%3Edir">&lt;b&gt;dir/</a></li>');
      expect(html).not.toMatch(/<img|<b>/);
      const sub = await (await client.get("/static/%3Cb%3Edir")).text();
      expect(sub).toContain("<title>Index of /&lt;b&gt;dir</title>");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("urlFor", () => {
  it("builds the URL of a file under the prefix, encoded", () => {
    const app = new web.Application();
    app.router.addStatic("/static", root, { name: "static" });
    const resource = app.router.named("static");
    expect(String(resource.urlFor({ filename: "css/app.css" }))).toBe("/static/css/app.css");
    expect(String(resource.urlFor({ filename: "/css/app.css" }))).toBe("/static/css/app.css");
    expect(String(resource.urlFor({ filename: "with space.txt" }))).toBe(
      "/static/with%20space.txt",
    );
  });

  it("appendVersion adds v=<base64url sha256 of the content>, aiohttp's format", () => {
    const app = new web.Application();
    app.router.addStatic("/static", root, { name: "static", appendVersion: true });
    const url = String(app.router.named("static").urlFor({ filename: "css/app.css" }));
    const version = encodeURIComponent(sha256Version("body { color: red }"));
    expect(url).toBe(`/static/css/app.css?v=${version}`);
    expect(url).toMatch(/%3D$/);
  });

  it("appendVersion adds no version for a missing file or a directory", () => {
    const app = new web.Application();
    app.router.addStatic("/static", root, { name: "static", appendVersion: true });
    const resource = app.router.named("static");
    expect(String(resource.urlFor({ filename: "missing.css" }))).toBe("/static/missing.css");
    expect(String(resource.urlFor({ filename: "css" }))).toBe("/static/css");
  });

  it("the version follows the file's content when it changes", async () => {
    const file = join(root, "versioned.txt");
    await writeFile(file, "one");
    const app = new web.Application();
    app.router.addStatic("/static", root, { name: "static", appendVersion: true });
    const resource = app.router.named("static");
    const first = String(resource.urlFor({ filename: "versioned.txt" }));
    expect(String(resource.urlFor({ filename: "versioned.txt" }))).toBe(first);
    await writeFile(file, "two!");
    // A size change alone must refresh the cache, whatever the mtime's resolution.
    await utimes(file, new Date(2000, 1, 1), new Date(2000, 1, 1));
    const second = String(resource.urlFor({ filename: "versioned.txt" }));
    expect(second).toBe(`/static/versioned.txt?v=${encodeURIComponent(sha256Version("two!"))}`);
  });

  it("appendVersion can be switched per call, both ways", () => {
    const app = new web.Application();
    const on = app.router.addStatic("/on", root, { appendVersion: true });
    const off = app.router.addStatic("/off", root);
    expect(String(on.urlFor({ filename: "hello.txt" }, { appendVersion: false }))).toBe(
      "/on/hello.txt",
    );
    expect(String(off.urlFor({ filename: "hello.txt" }, { appendVersion: true }))).toMatch(
      /^\/off\/hello\.txt\?v=/,
    );
  });

  it("the versioned URL is served", async () => {
    const app = new web.Application();
    app.router.addStatic("/static", root, { name: "static", appendVersion: true });
    const url = String(app.router.named("static").urlFor({ filename: "hello.txt" }));
    const client = await serve(app);
    const resp = await client.get(url);
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("hello world");
  });
});

describe("route tables and sub-applications", () => {
  it("web.static() in addRoutes registers a static route", async () => {
    const app = new web.Application();
    app.router.addRoutes([
      web.get("/", () => new web.Response({ text: "home" })),
      web.static("/static", root, { name: "assets" }),
    ]);
    const client = await serve(app);
    expect(await (await client.get("/static/hello.txt")).text()).toBe("hello world");
    expect(String(app.router.named("assets").urlFor({ filename: "a b" }))).toBe("/static/a%20b");
  });

  it("RouteTableDef.static() registers a static route", async () => {
    const routes = new web.RouteTableDef();
    routes.static("/files", root, { showIndex: true });
    const app = new web.Application();
    app.router.addRoutes(routes);
    const client = await serve(app);
    expect(await (await client.get("/files/css/app.css")).text()).toBe("body { color: red }");
    expect((await client.get("/files/css")).status).toBe(200);
  });

  it("a sub-application's static route answers under its prefix and builds URLs with it", async () => {
    const admin = new web.Application();
    admin.router.addStatic("/static", root, { name: "admin-static", showIndex: true });
    const app = new web.Application();
    app.addSubapp("/admin", admin);
    const client = await serve(app);
    expect(await (await client.get("/admin/static/hello.txt")).text()).toBe("hello world");
    expect((await client.get("/static/hello.txt")).status).toBe(404);
    const listing = await (await client.get("/admin/static/css")).text();
    expect(listing).toContain('<a href="/admin/static/css/app.css">');
    const url = admin.router.named("admin-static").urlFor({ filename: "hello.txt" });
    expect(String(url)).toBe("/admin/static/hello.txt");
  });

  it("a static route registered first takes the paths under its prefix, as aiohttp's order rule", async () => {
    const app = new web.Application();
    app.router.addStatic("/static", root);
    app.router.addGet("/static/hello.txt", () => new web.Response({ text: "handler" }));
    const client = await serve(app);
    expect(await (await client.get("/static/hello.txt")).text()).toBe("hello world");
  });

  it("a route registered before the static prefix keeps its path", async () => {
    const app = new web.Application();
    app.router.addGet("/static/hello.txt", () => new web.Response({ text: "handler" }));
    app.router.addStatic("/static", root);
    const client = await serve(app);
    expect(await (await client.get("/static/hello.txt")).text()).toBe("handler");
    expect(await (await client.get("/static/css/app.css")).text()).toBe("body { color: red }");
  });
});
