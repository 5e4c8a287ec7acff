// Request bodies past the limits: over `clientMaxSize`, decompression bombs, malformed and
// endless multipart, and forms with too many fields. Each gets its exact status; one whose rest
// is left unread closes the connection, so no byte of it is read as a request.

import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { describe, it } from "vitest";
import { web } from "../../src/index.js";
import { type CaseRow, cases, expectCase, useCorpusServer } from "./corpus.js";

const MiB = 1024 ** 2;
/** Small on the wire, 8 MiB once decompressed: over clientMaxSize and maxDecompressSize. */
const ZEROS = Buffer.alloc(8 * MiB);
const GZIP_BOMB = gzipSync(ZEROS, { level: 9 });
const latin1 = (bytes: Buffer): string => bytes.toString("latin1");

/** A POST to `path` with a Content-Length body. */
function post(path: string, headers: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${body.length}\r\n\r\n${body}`;
}

const B = "XyZ";
const form = (body: string): string =>
  post("/form", `Content-Type: multipart/form-data; boundary=${B}\r\n`, body);
const field = (name: string, value = "v", headers = ""): string =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n${headers}\r\n${value}\r\n`;
const fields = (n: number): string => Array.from({ length: n }, (_, i) => field(`f${i}`)).join("");
const urlencoded = (n: number): string =>
  post(
    "/form",
    "Content-Type: application/x-www-form-urlencoded\r\n",
    Array.from({ length: n }, (_, i) => `a${i}=1`).join("&"),
  );
const chunks = (n: number, size: number): string =>
  `${size.toString(16)}\r\n${"a".repeat(size)}\r\n`.repeat(n);

const SIZE: CaseRow[] = [
  [
    "a Content-Length body of 2 MiB (clientMaxSize 1 MiB)",
    post("/read", "", "a".repeat(2 * MiB)),
    413,
    true,
  ],
  [
    "a chunked body growing past 1 MiB",
    `POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks(20, 65_536)}0\r\n\r\n`,
    413,
    true,
  ],
  [
    "a Content-Length of 10 GB, refused before the body comes",
    "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc",
    413,
    true,
  ],
  [
    "a file part past clientMaxSize",
    form(
      `${field("a", "v".repeat(1_100_000)).replace('name="a"', 'name="a"; filename="f"')}--${B}--\r\n`,
    ),
    413,
    true,
  ],
  ["control: a body of 1 MiB exactly", post("/read", "", "a".repeat(MiB)), 200, false],
];

const BOMBS: CaseRow[] = [
  [
    "a gzip bomb read whole",
    post("/read", "Content-Encoding: gzip\r\n", latin1(GZIP_BOMB)),
    413,
    true,
  ],
  [
    "a deflate bomb read whole",
    post("/read", "Content-Encoding: deflate\r\n", latin1(deflateSync(ZEROS, { level: 9 }))),
    413,
    true,
  ],
  [
    "a brotli bomb read whole",
    post("/read", "Content-Encoding: br\r\n", latin1(brotliCompressSync(ZEROS))),
    413,
    true,
  ],
  [
    "a gzip bomb gzipped again",
    post("/read", "Content-Encoding: gzip, gzip\r\n", latin1(gzipSync(GZIP_BOMB))),
    413,
    true,
  ],
  [
    "a gzip bomb as JSON",
    post(
      "/json",
      "Content-Encoding: gzip\r\nContent-Type: application/json\r\n",
      latin1(GZIP_BOMB),
    ),
    413,
    true,
  ],
  [
    "a gzip bomb as a form",
    post(
      "/form",
      "Content-Encoding: gzip\r\nContent-Type: application/x-www-form-urlencoded\r\n",
      latin1(GZIP_BOMB),
    ),
    413,
    true,
  ],
  [
    "a gzip bomb streamed (maxDecompressSize 4 MiB)",
    post("/stream", "Content-Encoding: gzip\r\n", latin1(GZIP_BOMB)),
    413,
    true,
  ],
  ["a body that is not gzip", post("/read", "Content-Encoding: gzip\r\n", "not gzip"), 400, true],
  [
    "a coding the server does not know",
    post("/read", "Content-Encoding: compress\r\n", "abc"),
    415,
    false,
  ],
];

const MULTIPART: CaseRow[] = [
  [
    "multipart without a boundary",
    post("/form", "Content-Type: multipart/form-data\r\n", "abc"),
    400,
    true,
  ],
  ["multipart with no delimiter at all", form("garbage"), 400, false],
  [
    "a part that never ends",
    form(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n${"x".repeat(1000)}`),
    400,
    false,
  ],
  ["no final delimiter", form(`${field("a")}--${B}\r\n`), 400, false],
  [
    "a part without Content-Disposition",
    form(`--${B}\r\nX: y\r\n\r\nv\r\n--${B}--\r\n`),
    400,
    true,
  ],
  ["a field name over 1024 bytes", form(`${field("n".repeat(2000))}--${B}--\r\n`), 400, true],
  [
    "a part with 200 header fields",
    form(`${field("a", "v", "X-H: v\r\n".repeat(200))}--${B}--\r\n`),
    400,
    true,
  ],
  [
    "a part header line over 8190 bytes",
    form(`${field("a", "v", `X-H: ${"v".repeat(9000)}\r\n`)}--${B}--\r\n`),
    400,
    true,
  ],
  ["1,001 multipart fields (maxParts 1000)", form(`${fields(1001)}--${B}--\r\n`), 413, true],
  ["100,000 urlencoded fields", urlencoded(100_000), 413, false],
  ["1,001 urlencoded fields", urlencoded(1001), 413, false],
  ["malformed JSON", post("/json", "Content-Type: application/json\r\n", "{nope"), 400, false],
  ["control: 1,000 multipart fields", form(`${fields(1000)}--${B}--\r\n`), 200, false],
];

describe("request bodies past the limits", () => {
  const port = useCorpusServer({ maxDecompressSize: 4 * MiB }, (app) => {
    app.router.addPost(
      "/read",
      async (req) => new web.Response({ text: `${(await req.read()).length}` }),
    );
    app.router.addPost(
      "/form",
      async (req) => new web.Response({ text: `${(await req.post()).size}` }),
    );
    app.router.addPost(
      "/json",
      async (req) => new web.Response({ text: typeof (await req.json()) }),
    );
    app.router.addPost("/stream", async (req) => {
      let n = 0;
      for await (const chunk of req.content.iterAny()) n += chunk.length;
      return new web.Response({ text: `${n}` });
    });
  });

  describe("over clientMaxSize", () => {
    it.each(cases(SIZE))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });

  describe("compressed bombs (gzip, deflate, br; zstd where node has it)", () => {
    it.each(cases(BOMBS))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });

  describe("malformed, endless and oversized forms", () => {
    it.each(cases(MULTIPART))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });
});
