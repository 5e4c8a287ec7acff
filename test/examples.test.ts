// Runs every example under examples/ as a user would: in its own process, on a free port, then
// talks to it over HTTP and stops it with SIGTERM, which must end in a graceful exit 0.
//
// The examples import "aiohttp-ts"; tsx resolves that through tsconfig.json's `paths` to src/
// (a user's install resolves it to dist/ through the "exports" map, which test/package.test.ts
// covers). The check for dist/ below stays so a run without a build fails clearly.
//
// Why not `npx tsx`: npx does not pass SIGTERM on to the program it started (npm exits at once
// and leaves the server running), so the test runs node with tsx's loader (`--import tsx`): the
// SIGTERM reaches the example itself.

import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { rawExchange, type ServerProcess, startServerProcess } from "./helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/**
 * Node with tsx's loader, not the tsx CLI: the CLI relays a SIGTERM to the program and, when the
 * program has not acknowledged it within 30 ms (a busy machine), kills it with SIGKILL and exits
 * 143, which is not the program's graceful exit.
 */
const TSX = ["--import", "tsx"];
const START_TIMEOUT_MS = 15_000;

/** One example server running in a child process. */
class RunningExample {
  readonly #server: ServerProcess;

  private constructor(server: ServerProcess) {
    this.#server = server;
  }

  /** Starts `examples/<name>/server.ts`; resolves once it prints its banner. */
  static async start(name: string): Promise<RunningExample> {
    const server = await startServerProcess([...TSX, `examples/${name}/server.ts`], {
      cwd: ROOT,
      startTimeoutMs: START_TIMEOUT_MS,
    });
    return new RunningExample(server);
  }

  /** Everything the example printed on stdout so far. */
  get stdout(): string {
    return this.#server.stdout();
  }

  /** The example's address. */
  get baseUrl(): URL {
    return new URL(this.#server.baseUrl);
  }

  /** `fetch` relative to the example's address. */
  fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(new URL(path, this.#server.baseUrl), init);
  }

  /** Sends SIGTERM and resolves with the exit code (`null` if a signal killed it). */
  terminate(): Promise<number | null> {
    this.#server.child.kill("SIGTERM");
    return this.#server.exited;
  }

  /** After a failed test, so that no server outlives the run. */
  kill(): void {
    this.#server.kill();
  }
}

/**
 * Each `describe` block is one scenario against one running example, and its last test stops
 * the example with SIGTERM: the order of its tests stays fixed under `--sequence.shuffle`.
 */
const SCENARIO = { shuffle: false };

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Runs the example for the tests of one `describe` block. */
function useExample(name: string): () => RunningExample {
  let example: RunningExample | undefined;
  beforeAll(async () => {
    example = await RunningExample.start(name);
  }, START_TIMEOUT_MS + 5_000);
  afterAll(() => example?.kill());
  return () => {
    if (example === undefined) throw new Error(`examples/${name} did not start`);
    return example;
  };
}

beforeAll(() => {
  if (!existsSync(new URL("../dist/index.js", import.meta.url))) {
    throw new Error('dist/ is missing: the examples import "aiohttp-ts"; run `npm run build`');
  }
});

describe("examples/hello", SCENARIO, () => {
  const example = useExample("hello");

  test("greets the name in the path", async () => {
    const resp = await example().fetch("/world");
    expect(resp.status).toBe(200);
    expect(await resp.text()).toBe("Hello, world");
  });

  test("answers POST with 405 allowing GET and HEAD", async () => {
    const resp = await example().fetch("/world", { method: "POST" });
    expect(resp.status).toBe(405);
    expect(resp.headers.get("allow")).toBe("GET,HEAD");
  });

  test("exits with code 0 on SIGTERM", async () => {
    expect(await example().terminate()).toBe(0);
  });
});

describe("examples/middleware", SCENARIO, () => {
  const example = useExample("middleware");
  const alice = { headers: { Authorization: "Bearer alice-token" } };
  const bob = { headers: { Authorization: "Bearer bob-token" } };

  test("serves the public page without a token", async () => {
    const resp = await example().fetch("/");
    expect(resp.status).toBe(200);
    expect(await resp.text()).toContain("Public page");
  });

  test("refuses a protected page without a token with 401 and WWW-Authenticate", async () => {
    const resp = await example().fetch("/me");
    expect(resp.status).toBe(401);
    expect(resp.headers.get("www-authenticate")).toBe('Bearer realm="example"');
  });

  test("hands the user stored by the auth middleware to the handler", async () => {
    const resp = await example().fetch("/me", alice);
    expect(resp.status).toBe(200);
    expect(await resp.json()).toEqual({ name: "alice", admin: true });
  });

  test("answers 403 to a known user without the admin flag", async () => {
    expect((await example().fetch("/admin", bob)).status).toBe(403);
    expect((await example().fetch("/admin", alice)).status).toBe(200);
  });

  test("the outer middleware adds Server-Timing to responses and HTTP errors alike", async () => {
    const ok = await example().fetch("/me", alice);
    const refused = await example().fetch("/me");
    expect(refused.status).toBe(401);
    expect(ok.headers.get("server-timing")).toMatch(/^app;dur=\d+\.\d\d$/);
    expect(refused.headers.get("server-timing")).toMatch(/^app;dur=\d+\.\d\d$/);
  });

  test("exits with code 0 on SIGTERM", async () => {
    expect(await example().terminate()).toBe(0);
  });
});

describe("examples/subapp", SCENARIO, () => {
  const example = useExample("subapp");
  const token = { headers: { "X-Admin-Token": "letmein" } };

  test("the root application builds URLs into the sub-application", async () => {
    const resp = await example().fetch("/");
    expect(await resp.json()).toEqual({ user7: "/admin/users/7" });
  });

  test("the sub-application's middleware guards its routes", async () => {
    expect((await example().fetch("/admin/users/7")).status).toBe(403);
  });

  test("a sub-application route sees the parent's state and its own named routes", async () => {
    const resp = await example().fetch("/admin/users/7", token);
    expect(resp.status).toBe(200);
    expect(await resp.json()).toEqual({ id: 7, site: "example", self: "/admin/users/7" });
  });

  test("a path variable that fails its regex is 404", async () => {
    expect((await example().fetch("/admin/users/seven", token)).status).toBe(404);
  });

  test("exits with code 0 on SIGTERM", async () => {
    expect(await example().terminate()).toBe(0);
  });
});

describe("examples/streaming", SCENARIO, () => {
  const example = useExample("streaming");

  test("streams the count in chunks", async () => {
    const resp = await example().fetch("/count/3");
    expect(resp.headers.get("transfer-encoding")).toBe("chunked");
    expect(resp.headers.get("content-length")).toBeNull();
    expect(await resp.text()).toBe("1\n2\n3\n");
  });

  test("streams a compressed log, each line decodable as it comes", async () => {
    const resp = await example().fetch("/log/3", { headers: { "Accept-Encoding": "gzip" } });
    expect(resp.headers.get("content-encoding")).toBe("gzip");
    expect(resp.headers.get("vary")).toBe("Accept-Encoding");
    const lines = (await resp.text()).trim().split("\n");
    expect(lines.map((line) => line.replace(/^\S+ /, ""))).toEqual(["line 1", "line 2", "line 3"]);
  });

  test("sends server-sent events", async () => {
    const resp = await example().fetch("/events");
    expect(resp.headers.get("content-type")).toBe("text/event-stream");
    const events = (await resp.text()).trim().split("\n\n");
    expect(events).toEqual([1, 2, 3].map((i) => `id: ${i}\ndata: {"tick":${i}}`));
  });

  test("exits with code 0 on SIGTERM", async () => {
    expect(await example().terminate()).toBe(0);
  });
});

describe("examples/sse", SCENARIO, () => {
  const example = useExample("sse");

  /** Reads server-sent events from a fetch body until `count` have come. */
  async function readEvents(resp: Response, count: number): Promise<string[]> {
    const reader = (resp.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const events = text.split("\r\n\r\n").slice(0, -1);
      if (events.length >= count) {
        await reader.cancel();
        return events.slice(0, count);
      }
      const { done, value } = await reader.read();
      if (done) throw new Error(`the stream ended after ${JSON.stringify(text)}`);
      text += decoder.decode(value, { stream: true });
    }
  }

  test("serves a page that follows the stream with an EventSource", async () => {
    const resp = await example().fetch("/");
    expect(resp.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await resp.text()).toContain('new EventSource("/events")');
  });

  test("streams ticks, resuming after the Last-Event-ID the browser sends", async () => {
    const resp = await example().fetch("/events?interval=10", {
      headers: { "Last-Event-ID": "41" },
    });
    expect(resp.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const events = await readEvents(resp, 2);
    expect(events.map((e) => e.replace(/"time":"[^"]+"/, '"time":"T"'))).toEqual([
      'id: 42\r\nevent: tick\r\ndata: {"n":42,"time":"T"}',
      'id: 43\r\nevent: tick\r\ndata: {"n":43,"time":"T"}',
    ]);
  });

  test("exits with code 0 on SIGTERM, ending a stream that is still open", async () => {
    const resp = await example().fetch("/events?interval=60000");
    const reader = (resp.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);
    const exited = example().terminate();
    // The stream ends cleanly (shutdown closes it) instead of holding shutdown for 60 s.
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      // Only the end is awaited.
    }
    expect(await exited).toBe(0);
  });
});

describe("examples/file-download", SCENARIO, () => {
  const example = useExample("file-download");
  const SAMPLE = fileURLToPath(new URL("../examples/file-download/sample.txt", import.meta.url));

  test("sends the file as an attachment with its validators", async () => {
    const resp = await example().fetch("/download");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-disposition")).toBe('attachment; filename="sample.txt"');
    expect(resp.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(resp.headers.get("accept-ranges")).toBe("bytes");
    expect(resp.headers.get("etag")).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(await resp.text()).toBe(await readFile(SAMPLE, "utf8"));
  });

  test("sends a range with 206, as a resumed download asks", async () => {
    const resp = await example().fetch("/download", { headers: { Range: "bytes=100-" } });
    const whole = await readFile(SAMPLE);
    expect(resp.status).toBe(206);
    expect(resp.headers.get("content-range")).toBe(`bytes 100-${whole.length - 1}/${whole.length}`);
    expect(Buffer.from(await resp.arrayBuffer()).equals(whole.subarray(100))).toBe(true);
  });

  test("answers a request with the current ETag with 304", async () => {
    const etag = (await example().fetch("/download", { method: "HEAD" })).headers.get("etag");
    const resp = await example().fetch("/download", { headers: { "If-None-Match": etag ?? "" } });
    expect(resp.status).toBe(304);
  });

  test("exits with code 0 on SIGTERM", async () => {
    expect(await example().terminate()).toBe(0);
  });
});

describe("examples/multipart-upload", SCENARIO, () => {
  const example = useExample("multipart-upload");

  test("streams each uploaded file to disk and answers its size and sha256", async () => {
    const photo = randomBytes(300_000);
    const form = new FormData();
    form.append("note", "two files");
    form.append("photo", new Blob([photo], { type: "image/jpeg" }), "beach.jpg");
    form.append("doc", new Blob(["plain text"], { type: "text/plain" }), "notes.txt");
    const resp = await example().fetch("/upload", { method: "POST", body: form });
    expect(resp.status).toBe(200);
    expect(await resp.json()).toEqual({
      files: [
        { field: "photo", filename: "beach.jpg", size: photo.length, sha256: sha256(photo) },
        {
          field: "doc",
          filename: "notes.txt",
          size: 10,
          sha256: sha256(Buffer.from("plain text")),
        },
      ],
      fields: { note: "two files" },
    });
  });

  test("answers 400 to a body that is not multipart", async () => {
    const resp = await example().fetch("/upload", { method: "POST", body: "{}" });
    expect(resp.status).toBe(400);
  });

  test("exits with code 0 on SIGTERM", async () => {
    expect(await example().terminate()).toBe(0);
  });
});

describe("examples/json-api", SCENARIO, () => {
  const example = useExample("json-api");
  const post = (body: string): Promise<Response> =>
    example().fetch("/notes", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });

  test("creates a note with 201 and a Location built by urlFor", async () => {
    const resp = await post(JSON.stringify({ text: "buy milk" }));
    expect(resp.status).toBe(201);
    const note = (await resp.json()) as { id: number; text: string };
    expect(note.text).toBe("buy milk");
    expect(resp.headers.get("location")).toBe(`/notes/${note.id}`);
  });

  test("reads a note back through the class-based view", async () => {
    const created = (await (await post('{"text":"call mum"}')).json()) as { id: number };
    const resp = await example().fetch(`/notes/${created.id}`);
    expect(await resp.json()).toEqual({ id: created.id, text: "call mum" });
  });

  test("deletes a note with 204, after which it is 404", async () => {
    const created = (await (await post('{"text":"temp"}')).json()) as { id: number };
    expect((await example().fetch(`/notes/${created.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await example().fetch(`/notes/${created.id}`)).status).toBe(404);
  });

  test("answers malformed JSON with 400 and a wrong shape with 422", async () => {
    expect((await post("{not json")).status).toBe(400);
    expect((await post('{"title":"x"}')).status).toBe(422);
  });

  test("answers a verb the view lacks with 405 and the view's verbs in Allow", async () => {
    const resp = await example().fetch("/notes/1", { method: "PUT" });
    expect(resp.status).toBe(405);
    expect(resp.headers.get("allow")).toBe("DELETE,GET");
  });

  test("exits with code 0 on SIGTERM after the cleanup context's tear-down", async () => {
    const running = example();
    expect(await running.terminate()).toBe(0);
    expect(running.stdout).toMatch(/Shutting down with \d+ note\(s\)/);
  });
});

describe("examples/static-files", SCENARIO, () => {
  const example = useExample("static-files");

  test("serves the home page from public/index.html", async () => {
    const resp = await example().fetch("/");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await resp.text()).toContain("<h1>Served by aiohttp-ts</h1>");
  });

  test("serves an asset under /static with its content type and an ETag", async () => {
    const resp = await example().fetch("/static/css/site.css");
    expect(resp.status).toBe(200);
    expect(resp.headers.get("content-type")).toMatch(/^text\/css/);
    expect(resp.headers.get("etag")).toMatch(/^"/);
    expect(await resp.text()).toContain("font-family");
  });

  test("answers a repeated request carrying the ETag with 304", async () => {
    const first = await example().fetch("/static/css/site.css");
    await first.arrayBuffer();
    const etag = first.headers.get("etag") ?? "";
    const again = await example().fetch("/static/css/site.css", {
      headers: { "If-None-Match": etag },
    });
    expect(again.status).toBe(304);
  });

  test("builds versioned asset URLs that the static route serves", async () => {
    const urls = (await (await example().fetch("/assets")).json()) as { css: string };
    expect(urls.css).toMatch(/^\/static\/css\/site\.css\?v=[\w-]+%3D$/);
    expect((await example().fetch(urls.css)).status).toBe(200);
  });

  test("refuses a directory with 403 and a way out of public/ with 404", async () => {
    expect((await example().fetch("/static/css")).status).toBe(403);
    // fetch would resolve a literal "..": an encoded slash reaches the server as sent.
    expect((await example().fetch("/static/..%2fserver.ts")).status).toBe(404);
  });

  test("exits with code 0 on SIGTERM", async () => {
    expect(await example().terminate()).toBe(0);
  });
});

describe("examples/upload", SCENARIO, () => {
  const example = useExample("upload");

  test("serves an HTML form that posts multipart/form-data to /upload", async () => {
    const resp = await example().fetch("/");
    expect(resp.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await resp.text();
    expect(html).toContain('action="/upload"');
    expect(html).toContain('enctype="multipart/form-data"');
  });

  test("reports the fields and files of an upload, a large file on disk", async () => {
    const form = new FormData();
    form.append("note", "holiday");
    form.append("files", new Blob(["small file"], { type: "text/plain" }), "small.txt");
    form.append("files", new Blob([new Uint8Array(2 * 1024 ** 2)]), "large.bin");
    const resp = await example().fetch("/upload", { method: "POST", body: form });
    expect(resp.status).toBe(200);
    expect(await resp.json()).toEqual({
      fields: { note: "holiday" },
      files: [
        { filename: "small.txt", contentType: "text/plain", size: 10, onDisk: false },
        {
          filename: "large.bin",
          contentType: "application/octet-stream",
          size: 2 * 1024 ** 2,
          onDisk: true,
        },
      ],
    });
  });

  test("answers a form over its 20 MiB limit with 413", async () => {
    // Over a raw socket: the server answers once the form crosses its limit and closes the
    // connection, so a client still writing the rest (fetch) can fail with EPIPE before it
    // reads the answer; the raw connection keeps what the server sent.
    const head = Buffer.from(
      '--b\r\nContent-Disposition: form-data; name="files"; filename="huge.bin"\r\n\r\n',
    );
    const body = Buffer.concat([head, Buffer.alloc(21 * 1024 ** 2), Buffer.from("\r\n--b--\r\n")]);
    const reply = await rawExchange(
      Number(example().baseUrl.port),
      [
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n" +
          `Content-Length: ${body.length}\r\n\r\n`,
        body,
      ],
      { timeoutMs: 20_000, requireClose: true },
    );
    expect(reply.statusLine).toMatch(/^HTTP\/1\.1 413 /);
  });

  test("exits with code 0 on SIGTERM", async () => {
    expect(await example().terminate()).toBe(0);
  });
});
