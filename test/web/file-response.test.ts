// Tests of web.FileResponse over real sockets: the file's bytes and headers, 404/403,
// conditional requests (304, 412), ranges (206, multipart/byteranges, 416, If-Range), HEAD,
// precompressed siblings, the options, and a client that leaves mid-file.
import { once } from "node:events";
import {
  chmod,
  mkdtemp,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { brotliCompressSync, gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { HAS_ZSTD } from "../../src/http/compression.js";
import { web } from "../../src/index.js";
import { kSiblingSymlinks } from "../../src/web/symbols.js";
import {
  appWith,
  getRequest,
  httpSend,
  RawConnection,
  splitHead,
  useTestClients,
} from "../helpers.js";

const serve = useTestClients();

let dir: string;
/** 1000 bytes: byte i is i % 251, so every range is recognisable. */
const DATA = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
let dataPath: string;
let textPath: string;
let sitePath: string;
const SITE = "<!doctype html><p>the uncompressed page</p>\n".repeat(20);
const MTIME = new Date("2025-03-04T05:06:07.890Z");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "file-response-"));
  dataPath = join(dir, "data.bin");
  await writeFile(dataPath, DATA);
  await utimes(dataPath, MTIME, MTIME);
  textPath = join(dir, "notes.txt");
  await writeFile(textPath, "some notes\n");
  sitePath = join(dir, "site.html");
  await writeFile(sitePath, SITE);
  await writeFile(`${sitePath}.gz`, gzipSync(SITE));
  await writeFile(`${sitePath}.br`, brotliCompressSync(SITE));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Serves `path` with FileResponse for every request; `make` may adjust the response. */
async function serveFile(
  path: string | URL,
  options: web.FileResponseOptions = {},
  make: (r: web.FileResponse) => void = () => {},
): Promise<number> {
  const client = await serve(
    appWith(() => {
      const response = new web.FileResponse(path, options);
      make(response);
      return response;
    }),
  );
  return client.server.port;
}

/** The ETag and Last-Modified data.bin is sent with. */
async function dataValidators(): Promise<{ etag: string; lastModified: string }> {
  const st = await stat(dataPath, { bigint: true });
  return {
    etag: `"${st.mtimeNs.toString(16)}-${st.size.toString(16)}"`,
    lastModified: "Tue, 04 Mar 2025 05:06:07 GMT",
  };
}

describe("web.FileResponse: the file", () => {
  it("sends the bytes with Content-Length, Content-Type, Last-Modified, a strong ETag and Accept-Ranges", async () => {
    const port = await serveFile(dataPath);
    const reply = await httpSend(port, "/");
    const { etag, lastModified } = await dataValidators();
    expect(reply.status).toBe(200);
    expect(reply.bytes.equals(DATA)).toBe(true);
    expect(reply.headers["content-length"]).toBe("1000");
    expect(reply.headers["content-type"]).toBe("application/octet-stream");
    expect(reply.headers["last-modified"]).toBe(lastModified);
    expect(reply.headers.etag).toBe(etag);
    expect(reply.headers["accept-ranges"]).toBe("bytes");
    expect(reply.headers.vary).toBeUndefined();
  });

  it("the Content-Type comes from the extension, with a charset for text", async () => {
    const port = await serveFile(textPath);
    const reply = await httpSend(port, "/");
    expect(reply.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(reply.body).toBe("some notes\n");
  });

  it("a Content-Type in the headers option wins over the guess", async () => {
    const port = await serveFile(textPath, { headers: { "Content-Type": "text/markdown" } });
    const reply = await httpSend(port, "/");
    expect(reply.headers["content-type"]).toBe("text/markdown");
  });

  it("status and headers options are sent", async () => {
    const port = await serveFile(textPath, {
      status: 200,
      headers: { "Cache-Control": "max-age=60" },
    });
    const reply = await httpSend(port, "/");
    expect(reply.status).toBe(200);
    expect(reply.headers["cache-control"]).toBe("max-age=60");
    expect(reply.body).toBe("some notes\n");
  });

  it("a status other than 200 sends the whole file without validators (a custom error page)", async () => {
    const port = await serveFile(textPath, { status: 404 });
    const reply = await httpSend(port, "/", { headers: { Range: "bytes=0-1" } });
    expect(reply.status).toBe(404);
    expect(reply.body).toBe("some notes\n");
    expect(reply.headers.etag).toBeUndefined();
  });

  it("a file URL is accepted as the path", async () => {
    const port = await serveFile(pathToFileURL(textPath));
    expect((await httpSend(port, "/")).body).toBe("some notes\n");
  });

  it("a file larger than chunkSize arrives whole", async () => {
    const big = Buffer.alloc(3 * 65536 + 17, 7);
    big.write("start");
    big.write("end", big.length - 3);
    const path = join(dir, "big.bin");
    await writeFile(path, big);
    const port = await serveFile(path, { chunkSize: 65536 });
    const reply = await httpSend(port, "/", { slowReader: true });
    expect(reply.headers["content-length"]).toBe(String(big.length));
    expect(reply.bytes.equals(big)).toBe(true);
  });

  it("an empty file is sent with Content-Length 0", async () => {
    const path = join(dir, "empty.txt");
    await writeFile(path, "");
    const port = await serveFile(path);
    const reply = await httpSend(port, "/");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-length"]).toBe("0");
    expect(reply.body).toBe("");
  });

  it("HEAD gets the headers with the file's Content-Length and no body", async () => {
    const port = await serveFile(dataPath);
    const reply = await httpSend(port, "/", { method: "HEAD" });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-length"]).toBe("1000");
    expect(reply.headers.etag).toBe((await dataValidators()).etag);
    expect(reply.bytes.length).toBe(0);
  });

  it("the constructor refuses a chunkSize that is not a positive integer", () => {
    expect(() => new web.FileResponse(dataPath, { chunkSize: 0 })).toThrow(RangeError);
    expect(() => new web.FileResponse(dataPath, { chunkSize: 1.5 })).toThrow(RangeError);
  });
});

describe("web.FileResponse: with the rest of the server", () => {
  it("an onResponsePrepare callback can still add headers", async () => {
    const app = appWith(() => new web.FileResponse(textPath));
    app.onResponsePrepare.push((_request, response) => {
      response.headers.set("X-Prepared", "yes");
    });
    const reply = await httpSend((await serve(app)).server.port, "/");
    expect(reply.headers["x-prepared"]).toBe("yes");
    expect(reply.body).toBe("some notes\n");
  });

  it("compression enabled by an onResponsePrepare callback compresses the file", async () => {
    const app = appWith(() => new web.FileResponse(dataPath));
    app.onResponsePrepare.push((_request, response) => response.enableCompression("gzip"));
    const reply = await httpSend((await serve(app)).server.port, "/", {
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(reply.bytes).equals(DATA)).toBe(true);
  });

  it("a handler may prepare the response itself before returning it", async () => {
    const port = (
      await serve(
        appWith(async (request) => {
          const response = new web.FileResponse(textPath);
          await response.prepare(request);
          expect(response.prepared).toBe(true);
          return response;
        }),
      )
    ).server.port;
    const reply = await httpSend(port, "/");
    expect(reply.body).toBe("some notes\n");
  });

  it("bodyLength counts the bytes sent, headers of several ranges included", async () => {
    let response: web.FileResponse | undefined;
    const app = appWith(() => {
      response = new web.FileResponse(dataPath, { chunkSize: 7 });
      return response;
    });
    const port = (await serve(app)).server.port;
    const whole = await httpSend(port, "/");
    expect(whole.bytes.length).toBe(1000);
    expect(response?.bodyLength).toBe(1000);
    const parts = await httpSend(port, "/", { headers: { Range: "bytes=0-99,500-599" } });
    expect(response?.bodyLength).toBe(parts.bytes.length);
  });

  it("several ranges larger than chunkSize reuse the read buffers without mixing bytes", async () => {
    const port = await serveFile(dataPath, { chunkSize: 16 });
    const reply = await httpSend(port, "/", {
      headers: { Range: "bytes=3-200,300-333,-77" },
      slowReader: true,
    });
    const parts = parseByteRanges(reply.headers["content-type"], reply.bytes);
    expect(parts[0]!.data.equals(DATA.subarray(3, 201))).toBe(true);
    expect(parts[1]!.data.equals(DATA.subarray(300, 334))).toBe(true);
    expect(parts[2]!.data.equals(DATA.subarray(923))).toBe(true);
  });

  it("Vary: Accept-Encoding is added to a Vary the user set", async () => {
    const port = await serveFile(sitePath, { headers: { Vary: "Cookie" } });
    const reply = await httpSend(port, "/");
    expect(reply.headers.vary).toBe("Cookie, Accept-Encoding");
  });
});

describe("web.FileResponse: missing and forbidden files", () => {
  it("a missing file answers 404", async () => {
    const port = await serveFile(join(dir, "nope.txt"));
    const reply = await httpSend(port, "/");
    expect(reply.status).toBe(404);
    expect(reply.body).toBe("404: Not Found");
  });

  it("HEAD of a missing file answers 404 with the length of the text and no body", async () => {
    const port = await serveFile(join(dir, "nope.txt"));
    const reply = await httpSend(port, "/", { method: "HEAD" });
    expect(reply.status).toBe(404);
    expect(reply.headers["content-length"]).toBe(String("404: Not Found".length));
    expect(reply.bytes.length).toBe(0);
  });

  it("a path with a NUL byte answers 404", async () => {
    const port = await serveFile(`${textPath}\0.png`);
    expect((await httpSend(port, "/")).status).toBe(404);
  });

  it("a path through a file answers 404", async () => {
    const port = await serveFile(join(textPath, "inside"));
    expect((await httpSend(port, "/")).status).toBe(404);
  });

  it("a directory answers 403", async () => {
    const port = await serveFile(dir);
    const reply = await httpSend(port, "/");
    expect(reply.status).toBe(403);
    expect(reply.body).toBe("403: Forbidden");
  });

  it.skipIf(process.getuid?.() === 0)("a file that cannot be read answers 403", async () => {
    const path = join(dir, "secret.txt");
    await writeFile(path, "secret");
    await chmod(path, 0o000);
    const port = await serveFile(path);
    const reply = await httpSend(port, "/");
    expect(reply.status).toBe(403);
    expect(reply.body).not.toContain("secret");
  });

  it("a FIFO answers 403 without waiting for a writer", async () => {
    const path = join(dir, "fifo");
    const { execFileSync } = await import("node:child_process");
    execFileSync("mkfifo", [path]);
    const port = await serveFile(path);
    expect((await httpSend(port, "/")).status).toBe(403);
  });
});

describe("web.FileResponse: conditional requests", () => {
  it("If-None-Match with the ETag answers 304 with the validators and no body", async () => {
    const port = await serveFile(dataPath);
    const { etag, lastModified } = await dataValidators();
    const reply = await httpSend(port, "/", { headers: { "If-None-Match": etag } });
    expect(reply.status).toBe(304);
    expect(reply.headers.etag).toBe(etag);
    expect(reply.headers["last-modified"]).toBe(lastModified);
    expect(reply.headers["content-length"]).toBeUndefined();
    expect(reply.bytes.length).toBe(0);
  });

  it("If-None-Match compares weakly: W/ and lists match, * matches", async () => {
    const port = await serveFile(dataPath);
    const { etag } = await dataValidators();
    for (const value of [`W/${etag}`, `"other", ${etag}`, "*"]) {
      const reply = await httpSend(port, "/", { headers: { "If-None-Match": value } });
      expect(reply.status, value).toBe(304);
    }
  });

  it("If-None-Match with another tag sends the file", async () => {
    const port = await serveFile(dataPath);
    const reply = await httpSend(port, "/", { headers: { "If-None-Match": '"other"' } });
    expect(reply.status).toBe(200);
    expect(reply.bytes.equals(DATA)).toBe(true);
  });

  it("If-None-Match that matches answers 412 to a POST", async () => {
    const port = await serveFile(dataPath);
    const { etag } = await dataValidators();
    const reply = await httpSend(port, "/", { method: "POST", headers: { "If-None-Match": etag } });
    expect(reply.status).toBe(412);
  });

  it("If-Modified-Since at or after Last-Modified answers 304", async () => {
    const port = await serveFile(dataPath);
    const { lastModified } = await dataValidators();
    for (const since of [lastModified, "Wed, 05 Mar 2025 00:00:00 GMT"]) {
      const reply = await httpSend(port, "/", { headers: { "If-Modified-Since": since } });
      expect(reply.status, since).toBe(304);
    }
  });

  it("If-Modified-Since before Last-Modified sends the file", async () => {
    const port = await serveFile(dataPath);
    const reply = await httpSend(port, "/", {
      headers: { "If-Modified-Since": "Tue, 04 Mar 2025 05:06:06 GMT" },
    });
    expect(reply.status).toBe(200);
  });

  it("If-Modified-Since is ignored when If-None-Match is present (RFC 9110 13.2.2)", async () => {
    const port = await serveFile(dataPath);
    const { lastModified } = await dataValidators();
    const reply = await httpSend(port, "/", {
      headers: { "If-None-Match": '"other"', "If-Modified-Since": lastModified },
    });
    expect(reply.status).toBe(200);
  });

  it("If-Modified-Since in the obsolete RFC 850 and asctime forms is understood", async () => {
    const port = await serveFile(dataPath);
    for (const since of ["Tuesday, 04-Mar-25 05:06:07 GMT", "Tue Mar  4 05:06:07 2025"]) {
      const reply = await httpSend(port, "/", { headers: { "If-Modified-Since": since } });
      expect(reply.status, since).toBe(304);
    }
  });

  it("an If-Modified-Since that is not an HTTP-date is ignored", async () => {
    const port = await serveFile(dataPath);
    const reply = await httpSend(port, "/", { headers: { "If-Modified-Since": "yesterday" } });
    expect(reply.status).toBe(200);
  });

  it("If-Match compares strongly: the ETag and * pass, W/ and others answer 412", async () => {
    const port = await serveFile(dataPath);
    const { etag } = await dataValidators();
    expect((await httpSend(port, "/", { headers: { "If-Match": etag } })).status).toBe(200);
    expect((await httpSend(port, "/", { headers: { "If-Match": "*" } })).status).toBe(200);
    const weak = await httpSend(port, "/", { headers: { "If-Match": `W/${etag}` } });
    expect(weak.status).toBe(412);
    expect(weak.headers["content-length"]).toBe("0");
    expect(weak.bytes.length).toBe(0);
    expect((await httpSend(port, "/", { headers: { "If-Match": '"x"' } })).status).toBe(412);
  });

  it("If-Unmodified-Since before Last-Modified answers 412, at or after it sends the file", async () => {
    const port = await serveFile(dataPath);
    const { lastModified } = await dataValidators();
    const before = "Mon, 03 Mar 2025 00:00:00 GMT";
    expect((await httpSend(port, "/", { headers: { "If-Unmodified-Since": before } })).status).toBe(
      412,
    );
    expect(
      (await httpSend(port, "/", { headers: { "If-Unmodified-Since": lastModified } })).status,
    ).toBe(200);
  });

  it("If-Unmodified-Since is ignored when If-Match is present", async () => {
    const port = await serveFile(dataPath);
    const { etag } = await dataValidators();
    const reply = await httpSend(port, "/", {
      headers: { "If-Match": etag, "If-Unmodified-Since": "Mon, 03 Mar 2025 00:00:00 GMT" },
    });
    expect(reply.status).toBe(200);
  });

  it("If-Match fails before If-None-Match is looked at", async () => {
    const port = await serveFile(dataPath);
    const { etag } = await dataValidators();
    const reply = await httpSend(port, "/", {
      headers: { "If-Match": '"x"', "If-None-Match": etag },
    });
    expect(reply.status).toBe(412);
  });

  it("the ETag changes when the file changes within the same second", async () => {
    const path = join(dir, "changing.txt");
    await writeFile(path, "one");
    await utimes(path, new Date(1_700_000_000_100), new Date(1_700_000_000_100));
    const port = await serveFile(path);
    const first = await httpSend(port, "/");
    await writeFile(path, "two");
    await utimes(path, new Date(1_700_000_000_600), new Date(1_700_000_000_600));
    const second = await httpSend(port, "/", {
      headers: { "If-None-Match": String(first.headers.etag) },
    });
    expect(second.headers["last-modified"]).toBe(first.headers["last-modified"]);
    expect(second.status).toBe(200);
    expect(second.body).toBe("two");
  });
});

/** The parts of a multipart/byteranges body. */
function parseByteRanges(
  contentType: string | undefined,
  body: Buffer,
): { type: string; range: string; data: Buffer }[] {
  const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(contentType ?? "");
  expect(m).not.toBeNull();
  const delimiter = `--${m![1]}`;
  const text = body.toString("latin1");
  expect(text.endsWith(`\r\n${delimiter}--\r\n`)).toBe(true);
  const sections = text.slice(0, -(delimiter.length + 4)).split(`${delimiter}\r\n`);
  expect(sections[0]).toBe("");
  return sections.slice(1).map((section) => {
    const end = section.indexOf("\r\n\r\n");
    const headers = section.slice(0, end).split("\r\n");
    const data = section.slice(end + 4).replace(/\r\n$/, "");
    const get = (name: string): string =>
      headers
        .find((h) => h.toLowerCase().startsWith(`${name}:`))!
        .slice(name.length + 1)
        .trim();
    return {
      type: get("content-type"),
      range: get("content-range"),
      data: Buffer.from(data, "latin1"),
    };
  });
}

describe("web.FileResponse: ranges", () => {
  it("a single range answers 206 with Content-Range and those bytes", async () => {
    const port = await serveFile(dataPath);
    const reply = await httpSend(port, "/", { headers: { Range: "bytes=10-19" } });
    expect(reply.status).toBe(206);
    expect(reply.headers["content-range"]).toBe("bytes 10-19/1000");
    expect(reply.headers["content-length"]).toBe("10");
    expect(reply.bytes.equals(DATA.subarray(10, 20))).toBe(true);
  });

  it("an open range runs to the end and a suffix range takes the last bytes", async () => {
    const port = await serveFile(dataPath);
    const open = await httpSend(port, "/", { headers: { Range: "bytes=990-" } });
    expect(open.headers["content-range"]).toBe("bytes 990-999/1000");
    expect(open.bytes.equals(DATA.subarray(990))).toBe(true);
    const suffix = await httpSend(port, "/", { headers: { Range: "bytes=-500" } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers["content-range"]).toBe("bytes 500-999/1000");
    expect(suffix.bytes.equals(DATA.subarray(500))).toBe(true);
  });

  it("a range past the end is cut to the file, a suffix longer than it takes all", async () => {
    const port = await serveFile(dataPath);
    const past = await httpSend(port, "/", { headers: { Range: "bytes=900-5000" } });
    expect(past.headers["content-range"]).toBe("bytes 900-999/1000");
    const long = await httpSend(port, "/", { headers: { Range: "bytes=-5000" } });
    expect(long.status).toBe(206);
    expect(long.headers["content-range"]).toBe("bytes 0-999/1000");
    expect(long.bytes.equals(DATA)).toBe(true);
  });

  it("several ranges answer 206 multipart/byteranges with each part's type and range", async () => {
    const port = await serveFile(dataPath);
    const reply = await httpSend(port, "/", { headers: { Range: "bytes=0-4, 100-109,-3" } });
    expect(reply.status).toBe(206);
    expect(reply.headers["content-range"]).toBeUndefined();
    expect(reply.headers["content-length"]).toBe(String(reply.bytes.length));
    const parts = parseByteRanges(reply.headers["content-type"], reply.bytes);
    expect(parts.map((p) => p.range)).toEqual([
      "bytes 0-4/1000",
      "bytes 100-109/1000",
      "bytes 997-999/1000",
    ]);
    expect(parts.every((p) => p.type === "application/octet-stream")).toBe(true);
    expect(parts[0]!.data.equals(DATA.subarray(0, 5))).toBe(true);
    expect(parts[1]!.data.equals(DATA.subarray(100, 110))).toBe(true);
    expect(parts[2]!.data.equals(DATA.subarray(997))).toBe(true);
  });

  it("overlapping ranges are coalesced: no byte is sent twice", async () => {
    const port = await serveFile(dataPath);
    const reply = await httpSend(port, "/", { headers: { Range: "bytes=50-99,0-59,200-209" } });
    const parts = parseByteRanges(reply.headers["content-type"], reply.bytes);
    expect(parts.map((p) => p.range)).toEqual(["bytes 0-99/1000", "bytes 200-209/1000"]);
    const whole = await httpSend(port, "/", { headers: { Range: "bytes=0-9,5-20" } });
    expect(whole.headers["content-range"]).toBe("bytes 0-20/1000");
  });

  it("more than 100 ranges are ignored: the whole file is sent", async () => {
    const port = await serveFile(dataPath);
    const many = Array.from({ length: 101 }, (_, i) => `${i * 5}-${i * 5 + 1}`).join(",");
    const reply = await httpSend(port, "/", { headers: { Range: `bytes=${many}` } });
    expect(reply.status).toBe(200);
    expect(reply.bytes.equals(DATA)).toBe(true);
  });

  it("an unsatisfiable range answers 416 with Content-Range: bytes */size", async () => {
    const port = await serveFile(dataPath);
    for (const range of ["bytes=1000-", "bytes=5000-6000", "bytes=-0"]) {
      const reply = await httpSend(port, "/", { headers: { Range: range } });
      expect(reply.status, range).toBe(416);
      expect(reply.headers["content-range"]).toBe("bytes */1000");
      expect(reply.bytes.length).toBe(0);
    }
  });

  it("a Range with invalid syntax or another unit is ignored (200, whole file)", async () => {
    const port = await serveFile(dataPath);
    for (const range of ["bytes=5-1", "bytes=abc", "bytes=1-2-3", "items=0-5", "bytes="]) {
      const reply = await httpSend(port, "/", { headers: { Range: range } });
      expect(reply.status, range).toBe(200);
      expect(reply.bytes.equals(DATA)).toBe(true);
    }
  });

  it("HEAD and POST ignore Range", async () => {
    const port = await serveFile(dataPath);
    const head = await httpSend(port, "/", { method: "HEAD", headers: { Range: "bytes=0-9" } });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("1000");
    const post = await httpSend(port, "/", { method: "POST", headers: { Range: "bytes=0-9" } });
    expect(post.status).toBe(200);
  });

  it("If-Range with the ETag or Last-Modified lets the range through", async () => {
    const port = await serveFile(dataPath);
    const { etag, lastModified } = await dataValidators();
    for (const ifRange of [etag, lastModified]) {
      const reply = await httpSend(port, "/", {
        headers: { Range: "bytes=0-1", "If-Range": ifRange },
      });
      expect(reply.status, ifRange).toBe(206);
    }
  });

  it("If-Range that does not match sends the whole file with 200", async () => {
    const port = await serveFile(dataPath);
    const { etag } = await dataValidators();
    for (const ifRange of ['"stale"', `W/${etag}`, "Mon, 03 Mar 2025 00:00:00 GMT"]) {
      const reply = await httpSend(port, "/", {
        headers: { Range: "bytes=0-1", "If-Range": ifRange },
      });
      expect(reply.status, ifRange).toBe(200);
      expect(reply.bytes.equals(DATA)).toBe(true);
    }
  });

  it("with enableCompression() the ETag is weak and still answers If-None-Match", async () => {
    const port = await serveFile(dataPath, {}, (r) => r.enableCompression());
    const { etag } = await dataValidators();
    const reply = await httpSend(port, "/", { headers: { "Accept-Encoding": "gzip" } });
    expect(reply.headers.etag).toBe(`W/${etag}`);
    const again = await httpSend(port, "/", {
      headers: { "Accept-Encoding": "gzip", "If-None-Match": `W/${etag}` },
    });
    expect(again.status).toBe(304);
  });

  // Regression: the 304 of a file compressed on the fly had no Vary, which RFC 9110 15.4.5
  // requires whenever the 200 would carry one.
  it("with enableCompression() a 304 carries Vary: Accept-Encoding as the 200 does", async () => {
    const port = await serveFile(dataPath, {}, (r) => r.enableCompression());
    const first = await httpSend(port, "/", { headers: { "Accept-Encoding": "gzip" } });
    expect(first.headers.vary).toBe("Accept-Encoding");
    const again = await httpSend(port, "/", {
      headers: { "Accept-Encoding": "gzip", "If-None-Match": String(first.headers.etag) },
    });
    expect(again.status).toBe(304);
    expect(again.headers.vary).toBe("Accept-Encoding");
  });

  it("with enableCompression() Range is ignored and the body is compressed", async () => {
    const port = await serveFile(textPath, {}, (r) => r.enableCompression());
    const reply = await httpSend(port, "/", {
      headers: { Range: "bytes=0-1", "Accept-Encoding": "gzip" },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers["accept-ranges"]).toBeUndefined();
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(reply.bytes).toString()).toBe("some notes\n");
  });
});

describe("web.FileResponse: precompressed siblings", () => {
  it("the .br sibling is preferred when the client accepts br", async () => {
    const port = await serveFile(sitePath);
    const reply = await httpSend(port, "/", { headers: { "Accept-Encoding": "gzip, br" } });
    const br = await stat(`${sitePath}.br`, { bigint: true });
    expect(reply.headers["content-encoding"]).toBe("br");
    expect(reply.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(reply.headers.vary).toBe("Accept-Encoding");
    expect(reply.headers["content-length"]).toBe(String(br.size));
    expect(reply.headers.etag).toBe(`"${br.mtimeNs.toString(16)}-${br.size.toString(16)}"`);
    expect(reply.bytes.equals(brotliCompressSync(SITE))).toBe(true);
  });

  it("the .gz sibling is sent when only gzip is accepted", async () => {
    const port = await serveFile(sitePath);
    const reply = await httpSend(port, "/", { headers: { "Accept-Encoding": "gzip, br;q=0" } });
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(reply.bytes).toString()).toBe(SITE);
  });

  it("without Accept-Encoding the file itself is sent, with Vary since siblings exist", async () => {
    const port = await serveFile(sitePath);
    const reply = await httpSend(port, "/");
    expect(reply.headers["content-encoding"]).toBeUndefined();
    expect(reply.headers.vary).toBe("Accept-Encoding");
    expect(reply.body).toBe(SITE);
  });

  it.runIf(HAS_ZSTD)("the .zst sibling is sent to a client that accepts only zstd", async () => {
    const path = join(dir, "z.txt");
    await writeFile(path, "plain");
    await writeFile(`${path}.zst`, "zstd bytes");
    const port = await serveFile(path);
    const reply = await httpSend(port, "/", { headers: { "Accept-Encoding": "zstd" } });
    expect(reply.headers["content-encoding"]).toBe("zstd");
    expect(reply.body).toBe("zstd bytes");
  });

  it.runIf(!HAS_ZSTD)("a .zst sibling is not sent where the runtime has no zstd", async () => {
    const path = join(dir, "z.txt");
    await writeFile(path, "plain");
    await writeFile(`${path}.zst`, "zstd bytes");
    const port = await serveFile(path);
    const reply = await httpSend(port, "/", { headers: { "Accept-Encoding": "zstd" } });
    expect(reply.headers["content-encoding"]).toBeUndefined();
    expect(reply.body).toBe("plain");
  });

  it("a range applies to the sibling's bytes", async () => {
    const port = await serveFile(sitePath);
    const reply = await httpSend(port, "/", {
      headers: { "Accept-Encoding": "gzip", Range: "bytes=0-9" },
    });
    const gz = gzipSync(SITE);
    expect(reply.status).toBe(206);
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(reply.headers["content-range"]).toBe(`bytes 0-9/${gz.length}`);
    expect(reply.bytes.equals(gz.subarray(0, 10))).toBe(true);
  });

  it("a sibling is sent even when the file itself is missing, as in aiohttp", async () => {
    const path = join(dir, "only-compressed.js");
    await writeFile(`${path}.gz`, gzipSync("let x = 1;"));
    const port = await serveFile(path);
    const accepted = await httpSend(port, "/", { headers: { "Accept-Encoding": "gzip" } });
    expect(accepted.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(gunzipSync(accepted.bytes).toString()).toBe("let x = 1;");
    const refused = await httpSend(port, "/");
    expect(refused.status).toBe(404);
    expect(refused.headers.vary).toBe("Accept-Encoding");
  });

  it("a sibling that is a directory is not sent", async () => {
    const path = join(dir, "d.txt");
    await writeFile(path, "plain");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(`${path}.gz`);
    const port = await serveFile(path);
    const reply = await httpSend(port, "/", { headers: { "Accept-Encoding": "gzip" } });
    expect(reply.headers["content-encoding"]).toBeUndefined();
    expect(reply.body).toBe("plain");
  });

  it("a sibling that is a symlink is not followed by default", async () => {
    const path = join(dir, "l.txt");
    await writeFile(path, "plain");
    await writeFile(join(dir, "elsewhere.gz"), gzipSync("linked"));
    await symlink(join(dir, "elsewhere.gz"), `${path}.gz`);
    const port = await serveFile(path);
    const reply = await httpSend(port, "/", { headers: { "Accept-Encoding": "gzip" } });
    expect(reply.headers["content-encoding"]).toBeUndefined();
    expect(reply.body).toBe("plain");
  });

  it("the internal sibling rule follows a symlink only while it stays under the root", async () => {
    const root = join(dir, "root");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(root);
    const path = join(root, "page.txt");
    await writeFile(path, "plain");
    await writeFile(join(root, "inside.gz"), gzipSync("inside"));
    await symlink(join(root, "inside.gz"), `${path}.gz`);
    const outside = join(root, "out.txt");
    await writeFile(outside, "plain");
    await writeFile(join(dir, "outside.gz"), gzipSync("outside"));
    await symlink(join(dir, "outside.gz"), `${outside}.gz`);
    const rule = { root };
    const inPort = await serveFile(path, {}, (r) => r[kSiblingSymlinks](rule));
    const inReply = await httpSend(inPort, "/", { headers: { "Accept-Encoding": "gzip" } });
    expect(gunzipSync(inReply.bytes).toString()).toBe("inside");
    const outPort = await serveFile(outside, {}, (r) => r[kSiblingSymlinks](rule));
    const outReply = await httpSend(outPort, "/", { headers: { "Accept-Encoding": "gzip" } });
    expect(outReply.headers["content-encoding"]).toBeUndefined();
    expect(outReply.body).toBe("plain");
  });

  it("enableCompression() leaves a precompressed sibling alone", async () => {
    const port = await serveFile(sitePath, {}, (r) => r.enableCompression());
    const reply = await httpSend(port, "/", { headers: { "Accept-Encoding": "gzip" } });
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(reply.bytes).toString()).toBe(SITE);
  });

  it("a 304 for a sibling carries Vary", async () => {
    const port = await serveFile(sitePath);
    const first = await httpSend(port, "/", { headers: { "Accept-Encoding": "br" } });
    const again = await httpSend(port, "/", {
      headers: { "Accept-Encoding": "br", "If-None-Match": String(first.headers.etag) },
    });
    expect(again.status).toBe(304);
    expect(again.headers.vary).toBe("Accept-Encoding");
  });
});

/** Descriptors of this process that point at `path`. */
async function openDescriptorsOf(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir("/proc/self/fd")) {
    try {
      if ((await readlink(`/proc/self/fd/${fd}`)) === path) count++;
    } catch {
      // Closed between the listing and the readlink.
    }
  }
  return count;
}

describe.runIf(process.platform === "linux")("web.FileResponse: a client that leaves", () => {
  it("closes the file when the client disconnects mid-file", async () => {
    const path = join(dir, "large.bin");
    await writeFile(path, Buffer.alloc(16 * 1024 * 1024, 1));
    const errors: unknown[] = [];
    const app = appWith(() => new web.FileResponse(path, { chunkSize: 64 * 1024 }), {
      logger: { error: (...args: unknown[]) => errors.push(args), warn() {} },
    });
    const port = (await serve(app)).server.port;
    const conn = await RawConnection.open(port);
    conn.write(getRequest("/"));
    await conn.waitFor("\r\n\r\n");
    expect(splitHead(conn.data).statusLine).toBe("HTTP/1.1 200 OK");
    // The client stops reading: the server waits for the socket, with the file open.
    conn.socket.pause();
    await vi.waitFor(async () => expect(await openDescriptorsOf(path)).toBe(1));
    conn.destroy();
    await once(conn.socket, "close");
    await vi.waitFor(async () => expect(await openDescriptorsOf(path)).toBe(0));
    expect(errors).toEqual([]);
  });
});
