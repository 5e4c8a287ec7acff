// Properties of multipart bodies: what our FormData / MultipartWriter write, cut into any
// chunks, our MultipartReader reads back: the same parts in order, names and filenames (with
// quotes, backslashes, CR/LF, NUL, `;`, `=`, non-ASCII) as the HTML standard's encoding leaves
// them, and content bytes unchanged, including bytes that look like the boundary. And the same
// fields through a real server's `request.multipart()` and `request.post()`.
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BodyPartReader,
  ClientSession,
  FormData,
  MultipartReader,
  MultipartWriter,
  web,
} from "../../src/index.js";
import { quiet, useAppForAll } from "../helpers.js";

/**
 * A name or filename as it arrives: the HTML standard's multipart/form-data encoding
 * percent-encodes `"`, CR and LF (and we NUL) and receivers do not decode them; a backslash
 * travels as a quoted-pair and comes back as itself.
 */
function asSent(value: string): string {
  return value
    .replace(/"/g, "%22")
    .replace(/\r/g, "%0D")
    .replace(/\n/g, "%0A")
    .replace(/\0/g, "%00");
}

// Names and filenames: any code points, with the characters that matter to the header syntax
// mixed in often.
const tricky = fc.constantFrom('"', "\r", "\n", "\r\n", "\\", ";", "=", " ", "\0", "é", "😀", "'");
const label = fc
  .array(fc.oneof(fc.string({ unit: "binary", maxLength: 4 }), tricky), { maxLength: 6 })
  .map((parts) => parts.join(""));

const CRLF = Buffer.from("\r\n");

/** Content that may hold pieces of the boundary delimiter, but never the whole of it. */
function contentFor(boundary: string): fc.Arbitrary<Uint8Array> {
  const lookalike = fc.oneof(
    fc.nat({ max: boundary.length - 1 }).map((k) => `\r\n--${boundary.slice(0, k)}`),
    fc.constant(`x--${boundary}--`),
    fc.constant(`x--${boundary}\r\n`),
    fc.constant("\r\n\r\n"),
    fc.constant("\r\n--"),
  );
  return (
    fc
      .array(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          lookalike.map((s) => new Uint8Array(Buffer.from(s, "latin1"))),
        ),
        { maxLength: 6 },
      )
      .map((pieces) => new Uint8Array(Buffer.concat(pieces)))
      // RFC 2046 5.1.1: the delimiter must not occur in the content; content that starts with
      // "--boundary" would read as an empty part (the CRLF before it ends the header block).
      .filter((bytes) => !Buffer.concat([CRLF, bytes]).includes(`\r\n--${boundary}`))
  );
}

/** Splits `bytes` at the given cut points (taken modulo its length) into Buffers. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.map((cut) => cut % (bytes.length + 1)).sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

async function bytesOf(writer: MultipartWriter): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of writer) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface ReadPart {
  name: string | null;
  filename: string | null;
  bytes: Buffer;
}

async function readParts(reader: MultipartReader): Promise<ReadPart[]> {
  const out: ReadPart[] = [];
  for await (const part of reader) {
    if (!(part instanceof BodyPartReader)) throw new Error("unexpected nested part");
    out.push({ name: part.name, filename: part.filename, bytes: await part.read() });
  }
  return out;
}

const boundaryArb = fc.stringMatching(/^[0-9A-Za-z'()+_,./:=?-]{1,60}[0-9A-Za-z'()+_,./:=?-]$/);

describe("MultipartWriter then MultipartReader", () => {
  it("any parts, with any boundary, cut into any chunks, read back unchanged", async () => {
    const input = boundaryArb.chain((boundary) =>
      fc.record({
        boundary: fc.constant(boundary),
        parts: fc.array(
          fc.record({ name: label, filename: fc.option(label), content: contentFor(boundary) }),
          { maxLength: 5 },
        ),
        cuts: fc.array(fc.nat({ max: 2000 }), { maxLength: 12 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(input, async ({ boundary, parts, cuts }) => {
        const writer = new MultipartWriter("form-data", boundary);
        for (const p of parts) {
          const part = writer.append(Buffer.from(p.content));
          part.setContentDisposition(
            "form-data",
            p.filename === null ? { name: p.name } : { name: p.name, filename: p.filename },
          );
        }
        const body = await bytesOf(writer);
        expect(body.length).toBe(writer.size);
        const reader = MultipartReader.fromContentType(
          writer.contentType,
          Readable.from(split(body, cuts)),
        );
        const read = await readParts(reader);
        expect(read).toEqual(
          parts.map((p) => ({
            name: asSent(p.name),
            filename: p.filename === null ? null : asSent(p.filename),
            bytes: Buffer.from(p.content),
          })),
        );
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// FormData, through a real server

const port = useAppForAll(() => {
  const app = new web.Application({ logger: quiet });
  app.router.addPost("/multipart", async (request) => {
    const parts: Array<{ name: string | null; filename: string | null; hex: string }> = [];
    for await (const part of await request.multipart()) {
      if (!(part instanceof web.BodyPartReader)) continue;
      parts.push({
        name: part.name,
        filename: part.filename,
        hex: (await part.read()).toString("hex"),
      });
    }
    return web.jsonResponse(parts);
  });
  app.router.addPost("/post", async (request) => {
    const fields: Array<[string, string, string | null]> = [];
    for (const [name, value] of await request.post()) {
      if (typeof value === "string") fields.push([name, Buffer.from(value).toString("hex"), null]);
      else fields.push([name, (await value.read()).toString("hex"), value.filename]);
    }
    return web.jsonResponse(fields);
  });
  return app;
});

describe("FormData through a server", () => {
  const field = fc.record({
    name: label,
    // Files only, so that every value is bytes: text fields are read back as text.
    filename: label,
    content: fc.uint8Array({ maxLength: 300 }),
  });

  it("request.multipart() reads every file field of a FormData the client sent", async () => {
    await using session = new ClientSession();
    await fc.assert(
      fc.asyncProperty(fc.array(field, { minLength: 1, maxLength: 4 }), async (fields) => {
        const form = new FormData();
        for (const f of fields) {
          form.addField(f.name, Buffer.from(f.content), { filename: f.filename });
        }
        const resp = await session.post(`http://127.0.0.1:${port()}/multipart`, { data: form });
        expect(resp.status).toBe(200);
        expect(await resp.json()).toEqual(
          fields.map((f) => ({
            name: asSent(f.name),
            filename: asSent(f.filename),
            hex: Buffer.from(f.content).toString("hex"),
          })),
        );
      }),
      { numRuns: 60 },
    );
  });

  it("request.post() reads the same fields, text and files, multipart or urlencoded", async () => {
    await using session = new ClientSession();
    const textField = fc.record({
      name: label,
      text: fc.string({ unit: "binary", maxLength: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(field, textField), { minLength: 1, maxLength: 4 }),
        async (fields) => {
          const form = new FormData();
          for (const f of fields) {
            if ("text" in f) form.addField(f.name, f.text);
            else form.addField(f.name, Buffer.from(f.content), { filename: f.filename });
          }
          const multipart = form.isMultipart;
          const resp = await session.post(`http://127.0.0.1:${port()}/post`, { data: form });
          expect(resp.status).toBe(200);
          // Urlencoded names travel exactly; multipart ones as the HTML standard encodes them.
          const name = (n: string): string => (multipart ? asSent(n) : n);
          expect(await resp.json()).toEqual(
            fields.map((f) =>
              "text" in f
                ? [name(f.name), Buffer.from(f.text).toString("hex"), null]
                : [name(f.name), Buffer.from(f.content).toString("hex"), asSent(f.filename)],
            ),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});
