// Request smuggling over HTTP/1.1: every request whose framing two parsers could read two ways is
// refused and its connection closed, so that nothing pipelined behind it is handled (see
// corpus.ts). Controls (closes: false) show the well-formed neighbours of each trick still work.

import { describe, it } from "vitest";
import { type CaseRow, cases, expectCase, useCorpusServer } from "./corpus.js";

const POST = "POST /a HTTP/1.1\r\nHost: x\r\n";
const CHUNKED = `${POST}Transfer-Encoding: chunked\r\n\r\n`;
const BODY = "3\r\nabc\r\n0\r\n\r\n";

/** A chunked POST whose body is `body`. */
const chunked = (body: string): string => CHUNKED + body;

const FRAMING: CaseRow[] = [
  // Content-Length against Transfer-Encoding (RFC 9112 6.1, 6.3).
  [
    "CL then TE",
    `${POST}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${BODY}`,
    400,
    true,
  ],
  [
    "TE then CL",
    `${POST}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${BODY}`,
    400,
    true,
  ],
  [
    "two Content-Length, same value",
    `${POST}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
    400,
    true,
  ],
  [
    "two Content-Length, different values",
    `${POST}Content-Length: 3\r\nContent-Length: 30\r\n\r\nabc`,
    400,
    true,
  ],
  ["Content-Length as a list", `${POST}Content-Length: 3, 3\r\n\r\nabc`, 400, true],
  ["Content-Length negative", `${POST}Content-Length: -1\r\n\r\n`, 400, true],
  ["Content-Length with a plus sign", `${POST}Content-Length: +3\r\n\r\nabc`, 400, true],
  ["Content-Length in hexadecimal", `${POST}Content-Length: 0x3\r\n\r\nabc`, 400, true],
  [
    "Content-Length beyond 2^64",
    `${POST}Content-Length: 99999999999999999999999\r\n\r\n`,
    400,
    true,
  ],
  ["Content-Length with a space inside", `${POST}Content-Length: 1 2\r\n\r\nabc`, 400, true],
  ["Content-Length empty", `${POST}Content-Length:\r\n\r\n`, 400, true],
  [
    "Transfer-Encoding: chunked, identity",
    `${POST}Transfer-Encoding: chunked, identity\r\n\r\n${BODY}`,
    400,
    true,
  ],
  [
    "Transfer-Encoding: chunked123",
    `${POST}Transfer-Encoding: chunked123\r\n\r\n${BODY}`,
    400,
    true,
  ],
  ["Transfer-Encoding: xchunked", `${POST}Transfer-Encoding: xchunked\r\n\r\n${BODY}`, 400, true],
  ["Transfer-Encoding: identity", `${POST}Transfer-Encoding: identity\r\n\r\n${BODY}`, 400, true],
  [
    'Transfer-Encoding: "chunked" (quoted)',
    `${POST}Transfer-Encoding: "chunked"\r\n\r\n${BODY}`,
    400,
    true,
  ],
  ["Transfer-Encoding empty", `${POST}Transfer-Encoding:\r\n\r\n`, 400, true],
  [
    "Transfer-Encoding: chunked, chunked",
    `${POST}Transfer-Encoding: chunked, chunked\r\n\r\n${BODY}`,
    400,
    true,
  ],
  [
    "Transfer-Encoding twice",
    `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${BODY}`,
    400,
    true,
  ],
  [
    "Transfer-Encoding: gzip, chunked (a coding not understood)",
    `${POST}Transfer-Encoding: gzip, chunked\r\n\r\n${BODY}`,
    501,
    true,
  ],
  [
    "Transfer-Encoding: ,chunked (an empty coding first)",
    `${POST}Transfer-Encoding: ,chunked\r\n\r\n${BODY}`,
    501,
    true,
  ],
  [
    "Transfer-Encoding with a space before the colon",
    `${POST}Transfer-Encoding : chunked\r\n\r\n${BODY}`,
    400,
    true,
  ],
  [
    "Transfer-Encoding after a vertical tab",
    `${POST}Transfer-Encoding: \x0bchunked\r\n\r\n${BODY}`,
    400,
    true,
  ],
  [
    "Transfer-Encoding on HTTP/1.0",
    `POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${BODY}`,
    400,
    true,
  ],
  [
    "Transfer-Encoding and Content-Length on HTTP/1.0",
    `POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc`,
    400,
    true,
  ],
  // Transfer_Encoding is not Transfer-Encoding: no body, and the chunk bytes that follow are a
  // malformed next request, so the connection ends after the first answer.
  [
    "Transfer_Encoding (underscore) is not a framing header",
    `${POST}Transfer_Encoding: chunked\r\n\r\n${BODY}`,
    200,
    true,
  ],
  // Controls.
  [
    "control: Transfer-Encoding: CHUNKED (case-insensitive)",
    `${POST}Transfer-Encoding: CHUNKED\r\n\r\n${BODY}`,
    200,
    false,
  ],
  [
    "control: Transfer-Encoding after a tab",
    `${POST}Transfer-Encoding:\tchunked\r\n\r\n${BODY}`,
    200,
    false,
  ],
  [
    "control: Content-Length with leading zeros",
    `${POST}Content-Length: 003\r\n\r\nabc`,
    200,
    false,
  ],
  [
    "control: a GET with a Content-Length body",
    "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    200,
    false,
  ],
];

const LINES: CaseRow[] = [
  [
    "obs-fold continuing Transfer-Encoding",
    `${POST}Transfer-Encoding: x\r\n chunked\r\n\r\n${BODY}`,
    400,
    true,
  ],
  ["obs-fold on the first header line", "GET /a HTTP/1.1\r\n Host: x\r\n\r\n", 400, true],
  ["bare CR inside a header value", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400, true],
  ["bare CR inside a header name", "GET /a HTTP/1.1\r\nHost: x\r\nX\rA: b\r\n\r\n", 400, true],
  [
    "bare LF ending a header line",
    "GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\nX-B: b\r\n\r\n",
    400,
    true,
  ],
  ["bare LF ending the request line", "GET /a HTTP/1.1\nHost: x\r\n\r\n", 400, true],
  ["bare CR ending the request line", "GET /a HTTP/1.1\rHost: x\r\n\r\n", 400, true],
];

const CHUNKS: CaseRow[] = [
  ["LF inside a chunk extension", chunked("3;a=b\nc\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["bare CR inside a chunk extension", chunked("3;a\rb\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["NUL inside a chunk extension", chunked("3;a=\x00\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["a chunk extension of 20 KB", chunked(`3;${"a".repeat(20_000)}\r\nabc\r\n0\r\n\r\n`), 400, true],
  ["bare LF after the chunk size", chunked("3\nabc\r\n0\r\n\r\n"), 400, true],
  ["bare LF after the chunk data", chunked("3\r\nabc\n0\r\n\r\n"), 400, true],
  ["chunk data longer than its size", chunked("2\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["chunk size not hexadecimal", chunked("zz\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["chunk size with 0x", chunked("0x3\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["chunk size negative", chunked("-3\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["chunk size with a plus sign", chunked("+3\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["chunk size followed by a space", chunked("3 \r\nabc\r\n0\r\n\r\n"), 400, true],
  ["chunk size over 64 bits", chunked("ffffffffffffffffff\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["chunk size 2^64 + 3 (wraps to 3)", chunked("10000000000000003\r\nabc\r\n0\r\n\r\n"), 400, true],
  ["no last chunk before the next request", chunked("3\r\nabc\r\n"), 400, true],
  [
    "trailers over the header size limit",
    chunked(`3\r\nabc\r\n0\r\nX-T: ${"a".repeat(200_000)}\r\n\r\n`),
    431,
    true,
  ],
  ["obs-fold in a trailer", chunked("3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n"), 400, true],
  ["bare LF in a trailer", chunked("3\r\nabc\r\n0\r\nX-T: a\n\r\n"), 400, true],
  [
    "Content-Length in a trailer",
    chunked("3\r\nabc\r\n0\r\nContent-Length: 50\r\n\r\n"),
    400,
    true,
  ],
  // Controls.
  ["control: a quoted chunk extension", chunked('3;a="b c"\r\nabc\r\n0\r\n\r\n'), 200, false],
  [
    "control: chunk size with leading zeros",
    chunked("0000000000000000000000003\r\nabc\r\n0\r\n\r\n"),
    200,
    false,
  ],
  ["control: a trailer within the limits", chunked("3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"), 200, false],
  [
    "control: 20,000 one-byte chunks with extensions",
    chunked(`${"1;a=b\r\nx\r\n".repeat(20_000)}0\r\n\r\n`),
    200,
    false,
  ],
];

describe("request smuggling: nothing pipelined behind an ambiguous request is handled", () => {
  const port = useCorpusServer();

  describe("Content-Length and Transfer-Encoding", () => {
    it.each(cases(FRAMING))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });

  describe("line endings and folding", () => {
    it.each(cases(LINES))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });

  describe("chunks, extensions and trailers", () => {
    it.each(cases(CHUNKS))("$name: $status", async (c) => {
      await expectCase(port(), c);
    });
  });
});
