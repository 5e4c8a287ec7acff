// FormData and MultipartWriter as a request's `data`, over real sockets, read by our server
// (request.post() and request.multipart()) and by Python aiohttp's (aiohttp_multipart_server.py):
// files checked by sha256, Content-Length when every size is known and chunked otherwise,
// names and filenames that try to add header lines; and resp.multipart() reading responses.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BodyPartReader,
  ClientPayloadError,
  FormData,
  type MultipartPart,
  type MultipartReader,
  MultipartWriter,
  RedirectBodyError,
  web,
} from "../../src/index.js";
import { rejection, useAppForAll, useSessions } from "../helpers.js";
import { type PythonPeer, startPythonPeer } from "../interop/python-peer.js";
import { hasPeer } from "../peers.js";

const peersMissing = !hasPeer("python3-aiohttp");

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

interface SeenPart {
  name: string | null;
  filename: string | null;
  headers: [string, string][];
  size: number;
  sha256: string;
}

interface Seen {
  content_length: string | null;
  transfer_encoding: string | null;
  content_type: string | null;
  parts?: SeenPart[];
  form?: [string, string][];
}

/** Our server's twin of aiohttp_multipart_server.py's /parts: streams each part to a hash. */
const parts: web.Handler = async (request) => {
  const framing = {
    content_length: request.headers.get("Content-Length") ?? null,
    transfer_encoding: request.headers.get("Transfer-Encoding") ?? null,
    content_type: request.headers.get("Content-Type") ?? null,
  };
  if (request.contentType !== "multipart/form-data") {
    const form = await request.post();
    return web.jsonResponse({ ...framing, form: [...form].map(([k, v]) => [k, String(v)]) });
  }
  const out: SeenPart[] = [];
  for await (const part of (await request.multipart()) as AsyncIterable<MultipartPart>) {
    if (!(part instanceof BodyPartReader)) throw new Error("nested part");
    const hash = createHash("sha256");
    let size = 0;
    const content: AsyncIterable<Uint8Array> = request.query.has("decode")
      ? Readable.from([await part.read({ decode: true })])
      : part;
    for await (const chunk of content) {
      hash.update(chunk);
      size += chunk.length;
    }
    const headers = [...part.headers] as [string, string][];
    out.push({
      name: part.name,
      filename: part.filename,
      headers,
      size,
      sha256: hash.digest("hex"),
    });
  }
  return web.jsonResponse({ ...framing, parts: out });
};

/** What the tests send, and the 3 MiB file among it. */
async function threeFileForm(dir: string): Promise<{ form: FormData; big: Buffer }> {
  const big = randomBytes(3 * 1024 * 1024 + 5);
  const path = join(dir, "big.bin");
  await writeFile(path, big);
  const form = new FormData();
  form.addField("title", "holidays");
  form.addField("big", createReadStream(path), { contentType: "application/x-big" });
  form.addField("note", new File(["a note"], "note.txt", { type: "text/plain" }));
  form.addField("raw", Buffer.from([1, 2, 3]));
  return { form, big };
}

function checkThreeFiles(seen: Seen, big: Buffer): void {
  const byName = new Map(seen.parts?.map((p) => [p.name, p]));
  expect([...byName.keys()]).toEqual(["title", "big", "note", "raw"]);
  expect(byName.get("title")?.filename).toBeNull();
  expect(byName.get("big")).toMatchObject({
    filename: "big.bin",
    size: big.length,
    sha256: sha256(big),
  });
  const bigHeaders = byName.get("big")?.headers.map(([k, v]) => [k.toLowerCase(), v]);
  expect(bigHeaders).toContainEqual(["content-type", "application/x-big"]);
  expect(byName.get("note")).toMatchObject({
    filename: "note.txt",
    sha256: sha256(Buffer.from("a note")),
  });
  expect(byName.get("raw")).toMatchObject({ filename: "raw", size: 3 });
}

/** The same checks against our server and Python aiohttp's. */
/**
 * `peer` "aiohttp": Python aiohttp's reader leaves a form-data part's Content-Encoding alone
 * (RFC 7578 4.8), where ours undoes it.
 */
function uploadTests(base: () => string, peer: "ours" | "aiohttp" = "ours"): void {
  const session = useSessions();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "form-data-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function send(data: FormData | MultipartWriter, query = ""): Promise<Seen> {
    const resp = await session().post(`${base()}/parts${query}`, { data });
    expect(resp.status).toBe(200);
    return resp.json<Seen>();
  }

  it("text-only FormData goes urlencoded", async () => {
    const seen = await send(
      new FormData([
        ["a", "1"],
        ["b", "x y&z"],
      ]),
    );
    expect(seen.content_type).toBe("application/x-www-form-urlencoded");
    expect(seen.form).toEqual([
      ["a", "1"],
      ["b", "x y&z"],
    ]);
  });

  it("files of known size (a 3 MiB file stream among them) go with Content-Length", async () => {
    const { form, big } = await threeFileForm(dir);
    const seen = await send(form);
    expect(seen.content_type).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen.transfer_encoding).toBeNull();
    expect(Number(seen.content_length)).toBeGreaterThan(big.length);
    checkThreeFiles(seen, big);
  });

  it("a stream of unknown size makes the body chunked", async () => {
    const data = randomBytes(300_000);
    const form = new FormData();
    form.addField("gen", Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]));
    form.addField("text", "t", { contentType: "text/plain" });
    const seen = await send(form);
    expect(seen.content_length).toBeNull();
    expect(seen.transfer_encoding).toBe("chunked");
    expect(seen.parts?.[0]).toMatchObject({ name: "gen", filename: "gen", sha256: sha256(data) });
  });

  it("a name or filename with quotes and CR/LF adds no header and no part", async () => {
    const form = new FormData();
    form.addField('x"\r\nX-Injected: 1', Buffer.from("v"), {
      filename: 'evil"\r\nContent-Type: text/html\r\n\r\n<script>',
    });
    const seen = await send(form);
    expect(seen.parts).toHaveLength(1);
    const headers = seen.parts?.[0]?.headers.map(([k]) => k.toLowerCase());
    expect(headers).toEqual(["content-type", "content-disposition"]);
    expect(seen.parts?.[0]?.filename).toContain("%0D%0AContent-Type: text/html");
  });

  it("encodes parts as their Content-Transfer-Encoding and Content-Encoding say", async () => {
    const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
    const text = `caf\u00e9 = 1 \r\ntrailing space \r\n${"long line ".repeat(20)}\n\tend\t`;
    const form = new FormData();
    form.addField("b64", binary, { contentTransferEncoding: "base64" });
    form.addField("b64odd", binary.subarray(0, 1001), { contentTransferEncoding: "base64" });
    form.addField("qp", Buffer.from(text), { contentTransferEncoding: "quoted-printable" });
    form.addField("qpbin", binary, { contentTransferEncoding: "quoted-printable" });
    form.addField("raw", binary, { contentTransferEncoding: "binary" });
    const writer = form.encode() as MultipartWriter;
    writer
      .append(Readable.from([binary, binary]), {
        "Content-Encoding": "gzip",
        "Content-Transfer-Encoding": "base64",
      })
      .setContentDisposition("form-data", { name: "gz", filename: "gz.bin" });
    const seen = await send(writer, "?decode=1");
    const got = Object.fromEntries((seen.parts ?? []).map((p) => [p.name, p]));
    const expected: Record<string, Buffer> = {
      b64: binary,
      b64odd: binary.subarray(0, 1001),
      qp: Buffer.from(text),
      qpbin: binary,
      raw: binary,
      gz:
        peer === "ours"
          ? Buffer.concat([binary, binary])
          : gzipSync(Buffer.concat([binary, binary])),
    };
    for (const [name, bytes] of Object.entries(expected)) {
      expect({ name, size: got[name]?.size, sha256: got[name]?.sha256 }).toEqual({
        name,
        size: bytes.length,
        sha256: sha256(bytes),
      });
    }
  });

  it("an unknown part coding is refused when the field is added", () => {
    expect(() =>
      new FormData().addField("x", "y", { contentTransferEncoding: "uuencode" }),
    ).toThrow(/Content-Transfer-Encoding/);
    expect(() => new MultipartWriter().append("y", { "Content-Encoding": "br" })).toThrow(
      /Content-Encoding/,
    );
  });

  it("a MultipartWriter is sent as given, with its length", async () => {
    const writer = new MultipartWriter("form-data");
    writer.appendJson({ a: 1 }).setContentDisposition("form-data", { name: "meta" });
    const seen = await send(writer);
    expect(seen.content_length).toBe(String(writer.size));
    expect(seen.parts?.[0]).toMatchObject({ name: "meta", size: 7 });
  });
}

const PY_SCRIPT = fileURLToPath(new URL("../interop/aiohttp_multipart_server.py", import.meta.url));

/** Our server: /parts as above, /post through request.post(), /mixed and /plain to read. */
function ourApp(): web.Application {
  const app = new web.Application({ clientMaxSize: 64 * 1024 ** 2 });
  app.router.addPost("/parts", parts);
  app.router.addPost("/post", async (request) => {
    const form = await request.post();
    const out: Record<string, string> = {};
    for (const [k, v] of form)
      out[k] = v instanceof web.FileField ? `${v.filename}:${sha256(await v.read())}` : v;
    return web.jsonResponse(out);
  });
  app.router.addGet("/mixed", () => {
    const inner = new MultipartWriter("alternative");
    inner.append("plain");
    const writer = new MultipartWriter("mixed", "outer-boundary");
    writer.appendJson({ from: "aiohttp-ts" });
    writer.append(inner);
    return (async () => {
      const chunks: Uint8Array[] = [];
      for await (const c of writer) chunks.push(c);
      return new web.Response({ body: Buffer.concat(chunks), headers: writer.headers });
    })();
  });
  app.router.addGet(
    "/broken",
    () =>
      new web.Response({
        body: "--b\r\nno end",
        headers: { "Content-Type": "multipart/mixed; boundary=b" },
      }),
  );
  app.router.addGet("/plain", () => new web.Response({ text: "not multipart" }));
  app.router.addPost("/redirect", () => {
    throw new web.HTTPTemporaryRedirect("/parts");
  });
  return app;
}

/** Every part of a reader: JSON-ish summaries, nested readers as arrays. */
async function summary(reader: MultipartReader): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const part of reader as AsyncIterable<MultipartPart>) {
    if (part instanceof BodyPartReader) {
      const body = await part.read();
      out.push(body.length > 1000 ? sha256(body) : body.toString());
    } else out.push(await summary(part));
  }
  return out;
}

describe("uploads to our server", () => {
  const port = useAppForAll(ourApp);
  const base = (): string => `http://127.0.0.1:${port()}`;
  uploadTests(base);
  const session = useSessions();

  it("request.post() reads a FormData with files", async () => {
    const form = new FormData({ a: "1" });
    form.addField("f", new Blob(["xyz"]));
    const resp = await session().post(`${base()}/post`, { data: form });
    expect(await resp.json()).toEqual({ a: "1", f: `blob:${sha256(Buffer.from("xyz"))}` });
  });

  it("a 307 replays a FormData of in-memory values", async () => {
    const form = new FormData();
    form.addField("f", Buffer.from("again"), { filename: "a.txt" });
    const resp = await session().post(`${base()}/redirect`, { data: form });
    const seen = await resp.json<Seen>();
    expect(seen.parts?.[0]).toMatchObject({ filename: "a.txt", size: 5 });
  });

  it("a 307 with a FormData whose stream was sent fails with RedirectBodyError", async () => {
    const form = new FormData();
    form.addField("f", Readable.from([Buffer.from("once")]));
    const err = await rejection(session().post(`${base()}/redirect`, { data: form }));
    expect(err).toBeInstanceOf(RedirectBodyError);
  });

  it("resp.multipart() reads a multipart/mixed response with a nested part", async () => {
    const resp = await session().get(`${base()}/mixed`);
    expect(await summary(resp.multipart())).toEqual(['{"from":"aiohttp-ts"}', ["plain"]]);
  });

  it("resp.multipart() on a response that is not multipart throws ClientPayloadError", async () => {
    const resp = await session().get(`${base()}/plain`);
    expect(() => resp.multipart()).toThrow(ClientPayloadError);
    expect(() => resp.multipart()).toThrow(/not multipart \(Content-Type: text\/plain/);
    await resp.release();
  });

  it("a malformed multipart response fails reads with ClientPayloadError", async () => {
    const resp = await session().get(`${base()}/broken`);
    const err = await rejection(summary(resp.multipart()));
    expect(err).toBeInstanceOf(ClientPayloadError);
  });
});

describe.skipIf(peersMissing)("uploads to Python aiohttp's server", () => {
  let py: PythonPeer | undefined;
  beforeAll(async () => {
    py = await startPythonPeer(PY_SCRIPT);
  }, 20_000);
  afterAll(() => py?.stop());
  uploadTests(() => py?.base ?? "", "aiohttp");
  const session = useSessions();

  it("resp.multipart() reads aiohttp's multipart/mixed with a nested part", async () => {
    const resp = await session().get(`${py?.base}/mixed`);
    const expected = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < expected.length; i++) expected[i] = i & 0xff;
    expect(await summary(resp.multipart())).toEqual([
      '{"from": "python"}',
      sha256(expected),
      ["plain", "<b>html</b>"],
    ]);
  });
});
