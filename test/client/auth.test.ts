// BasicAuth (RFC 7617): encoding to and decoding from the Authorization header, and reading
// credentials from a URL's userinfo.
import { describe, expect, test } from "vitest";
import { BasicAuth } from "../../src/index.js";

const b64 = (text: string, encoding: BufferEncoding = "latin1"): string =>
  Buffer.from(text, encoding).toString("base64");

describe("encode", () => {
  test("login:password in base64 after the Basic scheme", () => {
    expect(new BasicAuth("Aladdin", "open sesame").encode()).toBe(
      "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    );
  });

  test("the password defaults to empty", () => {
    const auth = new BasicAuth("user");
    expect(auth.password).toBe("");
    expect(auth.encode()).toBe(`Basic ${b64("user:")}`);
  });

  test("a colon in the password is kept", () => {
    expect(new BasicAuth("u", "p:a:ss").encode()).toBe(`Basic ${b64("u:p:a:ss")}`);
  });

  test("latin1 is the default encoding, as in aiohttp", () => {
    const auth = new BasicAuth("josé", "pässwörd");
    expect(auth.encoding).toBe("latin1");
    expect(auth.encode()).toBe(`Basic ${b64("josé:pässwörd", "latin1")}`);
  });

  test("utf-8 encodes characters latin1 does not have", () => {
    expect(new BasicAuth("test", "123£世界", "utf-8").encode()).toBe(
      `Basic ${b64("test:123£世界", "utf8")}`,
    );
  });

  test("characters outside latin1 with the latin1 encoding throw instead of being mangled", () => {
    expect(() => new BasicAuth("user", "世界").encode()).toThrow(/latin1/);
  });

  test("a colon in the login throws (RFC 7617 2)", () => {
    expect(() => new BasicAuth("us:er", "x")).toThrow(TypeError);
  });

  test("toString does not show the password", () => {
    const text = String(new BasicAuth("user", "hunter2"));
    expect(text).toContain("user");
    expect(text).not.toContain("hunter2");
  });
});

describe("decode", () => {
  test("round-trips encode", () => {
    const auth = BasicAuth.decode(new BasicAuth("nkim", "pwd:with:colons").encode());
    expect([auth.login, auth.password]).toEqual(["nkim", "pwd:with:colons"]);
  });

  test("the scheme is case-insensitive and surrounding spaces are ignored", () => {
    const auth = BasicAuth.decode(`  bAsIc   ${b64("a:b")}  `);
    expect([auth.login, auth.password]).toEqual(["a", "b"]);
  });

  test("utf-8 credentials decode with the utf-8 encoding", () => {
    const auth = BasicAuth.decode(`Basic ${b64("ユーザー:秘密", "utf8")}`, "utf-8");
    expect([auth.login, auth.password, auth.encoding]).toEqual(["ユーザー", "秘密", "utf-8"]);
  });

  test("latin1 credentials decode by default", () => {
    const auth = BasicAuth.decode(`Basic ${b64("café:crème", "latin1")}`);
    expect([auth.login, auth.password]).toEqual(["café", "crème"]);
  });

  test("an empty password decodes as empty", () => {
    expect(BasicAuth.decode(`Basic ${b64("solo:")}`).password).toBe("");
  });

  test.each([
    ["another scheme", `Bearer ${b64("a:b")}`],
    ["no credentials", "Basic"],
    ["not base64", "Basic ***"],
    ["two tokens", `Basic ${b64("a:b")} extra`],
    ["empty", ""],
  ])("%s throws TypeError", (_what, header) => {
    expect(() => BasicAuth.decode(header)).toThrow(TypeError);
  });

  test("credentials without a colon throw TypeError", () => {
    expect(() => BasicAuth.decode(`Basic ${b64("nocolon")}`)).toThrow(/no colon/);
  });
});

describe("fromUrl", () => {
  test("no userinfo gives undefined", () => {
    expect(BasicAuth.fromUrl(new URL("http://example.com/"))).toBeUndefined();
  });

  test("user and password are taken from the userinfo", () => {
    const auth = BasicAuth.fromUrl(new URL("http://user:pass@example.com/"));
    expect([auth?.login, auth?.password]).toEqual(["user", "pass"]);
  });

  test("percent-escapes are decoded", () => {
    const auth = BasicAuth.fromUrl(new URL("http://us%20er:p%3Ass%40w@example.com/"));
    expect([auth?.login, auth?.password]).toEqual(["us er", "p:ss@w"]);
  });

  test("a user without a password gets an empty password", () => {
    const auth = BasicAuth.fromUrl(new URL("http://onlyuser@example.com/"));
    expect([auth?.login, auth?.password]).toEqual(["onlyuser", ""]);
  });

  test("a password without a user gets an empty login", () => {
    const auth = BasicAuth.fromUrl(new URL("http://:secret@example.com/"));
    expect([auth?.login, auth?.password]).toEqual(["", "secret"]);
  });

  test("the encoding may be chosen for non-latin1 credentials", () => {
    const auth = BasicAuth.fromUrl(new URL("http://%E4%B8%96:x@example.com/"), "utf-8");
    expect(auth?.login).toBe("世");
    expect(auth?.encode()).toBe(`Basic ${b64("世:x", "utf8")}`);
  });

  test("a malformed percent-escape is kept as written", () => {
    const auth = BasicAuth.fromUrl(new URL("http://a%E0%A4%A:b@example.com/"));
    expect(auth?.login).toBe("a%E0%A4%A");
  });
});
