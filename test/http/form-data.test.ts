// FormData's rules, as aiohttp's formdata.py: when it is urlencoded or multipart, what
// addFields takes, the filenames it gives, and that a form with a stream is sent once.
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FormData } from "../../src/http/form-data.js";
import { MultipartWriter } from "../../src/http/multipart/writer.js";

async function text(form: FormData): Promise<string> {
  const encoded = form.encode();
  if (!(encoded instanceof MultipartWriter)) return encoded.body;
  const chunks: Uint8Array[] = [];
  for await (const chunk of encoded) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

describe("FormData", () => {
  it("stays urlencoded for text without options, numbers and booleans as text", async () => {
    const form = new FormData().addField("a", "x y").addField("n", 1).addField("b", true);
    expect(form.isMultipart).toBe(false);
    expect(await text(form)).toBe("a=x+y&n=1&b=true");
    expect(form.replayable).toBe(true);
  });

  it.each([
    ["filename", { filename: "a.txt" }],
    ["contentType", { contentType: "text/csv" }],
    ["contentTransferEncoding", { contentTransferEncoding: "binary" }],
  ])("an option (%s) makes it multipart", (_, options) => {
    expect(new FormData().addField("a", "x", options).isMultipart).toBe(true);
  });

  it("bytes, Blobs and streams make it multipart, with aiohttp's and browsers' filenames", async () => {
    const here = fileURLToPath(import.meta.url);
    const form = new FormData();
    form.addField("bytes", Buffer.from("1"));
    form.addField("file", new File(["2"], "two.txt"));
    form.addField("blob", new Blob(["3"]));
    form.addField("path", createReadStream(here));
    form.addField("gen", Readable.from([Buffer.from("5")]));
    expect(form.isMultipart).toBe(true);
    const body = await text(form);
    expect(body).toContain('name="bytes"; filename="bytes"');
    expect(body).toContain('name="file"; filename="two.txt"');
    expect(body).toContain('name="blob"; filename="blob"');
    expect(body).toContain('name="path"; filename="form-data.test.ts"');
    expect(body).toContain('name="gen"; filename="gen"');
  });

  it("addFields takes pairs, records, URLSearchParams and another FormData", async () => {
    const other = new FormData().addField("d", "4", { contentType: "text/x-d" });
    const form = new FormData()
      .addFields([["a", "1"]], { b: "2" }, new URLSearchParams("c=3"))
      .addFields(other);
    expect(form.isMultipart).toBe(true);
    const body = await text(form);
    for (const name of ["a", "b", "c", "d"]) expect(body).toContain(`name="${name}"`);
    expect(body).toContain("Content-Type: text/x-d");
  });

  it("refuses a contentType with CR or LF", () => {
    expect(() => new FormData().addField("a", "x", { contentType: "a\r\nX-Evil: 1" })).toThrow(
      TypeError,
    );
  });

  it("a form with a stream is sent once; one of in-memory values again and again", async () => {
    const once = new FormData().addField("s", Readable.from([Buffer.from("x")]));
    expect(once.replayable).toBe(false);
    await text(once);
    expect(() => once.encode()).toThrow(/already sent/);
    const again = new FormData().addField("b", Buffer.from("x"));
    expect(await text(again)).toContain("\r\n\r\nx\r\n");
    expect(await text(again)).toContain("\r\n\r\nx\r\n");
  });
});
