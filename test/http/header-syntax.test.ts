// The header-value building blocks client and server share (src/http/header-syntax.ts).

import { describe, expect, it } from "vitest";
import { isToken, splitOutsideQuotes, unquote } from "../../src/http/header-syntax.js";

describe("isToken (RFC 9110 5.6.2)", () => {
  it.each(["GET", "PROPFIND", "x-custom", "a!#$%&'*+.^_`|~9"])("%s is a token", (text) => {
    expect(isToken(text)).toBe(true);
  });

  it.each(["", "GET ", "a,b", 'a"b', "a(b)", "é", "a/b"])("%j is not", (text) => {
    expect(isToken(text)).toBe(false);
  });
});

describe("splitOutsideQuotes", () => {
  it("splits at the separator, trimming parts and dropping empty ones", () => {
    expect(splitOutsideQuotes(" a , b,, c ", ",")).toEqual(["a", "b", "c"]);
  });

  it("keeps a quoted string together, escaped quotes included", () => {
    expect(splitOutsideQuotes('for="a,b";by=x, for="c\\",d"', ",")).toEqual([
      'for="a,b";by=x',
      'for="c\\",d"',
    ]);
  });

  it("keeps <...> together only when asked (Link values)", () => {
    const link = '<http://x/a,b>; rel="next", <http://x/c>; rel="prev"';
    expect(splitOutsideQuotes(link, ",", { angleBrackets: true })).toEqual([
      '<http://x/a,b>; rel="next"',
      '<http://x/c>; rel="prev"',
    ]);
    expect(splitOutsideQuotes("<a,b>", ",")).toEqual(["<a", "b>"]);
  });
});

describe("unquote", () => {
  it("undoes a quoted string's escapes and leaves other text alone", () => {
    expect(unquote('"a \\"b\\" \\\\c"')).toBe('a "b" \\c');
    expect(unquote("plain")).toBe("plain");
    expect(unquote('"')).toBe('"');
  });
});
