// Tests of Content-Type parsing (RFC 9110 8.3): media type, parameters, charset, fallbacks.
import { describe, expect, it } from "vitest";
import {
  formatContentType,
  isJsonType,
  parseContentType,
  parseParams,
} from "../../src/http/content-type.js";

describe("parseContentType", () => {
  it("splits the media type and lower-cases it", () => {
    const ct = parseContentType("Text/HTML");
    expect(ct.mimetype).toBe("text/html");
    expect(ct.type).toBe("text");
    expect(ct.subtype).toBe("html");
    expect(ct.charset).toBeUndefined();
  });

  it("reads the charset parameter, lower-cased", () => {
    expect(parseContentType("text/plain; charset=UTF-8").charset).toBe("utf-8");
  });

  it("unquotes quoted parameter values and their escapes", () => {
    const ct = parseContentType('multipart/form-data; boundary="a \\"b\\" c"; charset="latin1"');
    expect(ct.params.boundary).toBe('a "b" c');
    expect(ct.charset).toBe("latin1");
  });

  it("lower-cases parameter names and keeps the first of a repeated one", () => {
    const ct = parseContentType("text/plain; CharSet=ascii; charset=utf-8");
    expect(ct.charset).toBe("ascii");
    expect(ct.params).toEqual({ charset: "ascii" });
  });

  it("tolerates spaces around the separators", () => {
    const ct = parseContentType("  application/json ;  charset=utf-8 ; q=1 ");
    expect(ct.mimetype).toBe("application/json");
    expect(ct.params).toEqual({ charset: "utf-8", q: "1" });
  });

  it.each([[undefined], [null], [""]])(
    "gives application/octet-stream for a missing value (%s)",
    (value) => {
      const ct = parseContentType(value);
      expect(ct.mimetype).toBe("application/octet-stream");
      expect(ct.params).toEqual({});
    },
  );

  it.each([["text"], ["/plain"], ["text/"], ["te xt/plain"], ["text/pla(in"]])(
    "gives application/octet-stream for the malformed value %j",
    (value) => {
      expect(parseContentType(value).mimetype).toBe("application/octet-stream");
    },
  );

  it("returns the same result for the same value (cached)", () => {
    expect(parseContentType("text/css; charset=utf-8")).toBe(
      parseContentType("text/css; charset=utf-8"),
    );
  });

  it("keeps structured-syntax suffixes in the subtype", () => {
    expect(parseContentType("application/problem+json").subtype).toBe("problem+json");
  });
});

describe("parseParams", () => {
  it("drops parameters without a value separator", () => {
    expect(parseParams("; a=1; junk; b=2")).toEqual({ a: "1", b: "2" });
  });

  it("keeps semicolons inside quoted values", () => {
    expect(parseParams('; name="a;b"; c=d')).toEqual({ name: "a;b", c: "d" });
  });
});

describe("isJsonType", () => {
  it("accepts application/json and +json suffixes", () => {
    expect(isJsonType("application/json")).toBe(true);
    expect(isJsonType("application/vnd.api+json")).toBe(true);
  });

  it("rejects other types", () => {
    expect(isJsonType("text/json-ish")).toBe(false);
    expect(isJsonType("text/plain")).toBe(false);
  });
});

describe("formatContentType", () => {
  it("adds the charset when given", () => {
    expect(formatContentType("text/html", "utf-8")).toBe("text/html; charset=utf-8");
  });

  it("omits an empty or missing charset", () => {
    expect(formatContentType("image/png")).toBe("image/png");
    expect(formatContentType("image/png", null)).toBe("image/png");
    expect(formatContentType("image/png", "")).toBe("image/png");
  });
});
