// Charset detection for bodies without a declared charset: BOMs, strict UTF-8, then the
// statistical detector, and a lossless fallback for bytes that are not UTF-8.
import { describe, expect, test } from "vitest";
import { detectCharset, isKnownCharset } from "../../src/client/charset.js";

// Samples long enough for a statistical detector, encoded offline with Python's codecs.
const samples = {
  "windows-1251": [
    "Мороз и солнце; день чудесный! Еще ты дремлешь, друг прелестный — пора, красавица, проснись: открой сомкнуты негой взоры навстречу северной Авроры, звездою севера явись!",
    "zO7w7ucg6CDx7uvt9uU7IOTl7fwg9/Pk5fHt++khIMX55SDy+yDk8OXs6+X4/Cwg5PDz4yDv8OXr5fHy7fvpIJcg7+7w4Cwg6vDg8eDi6PbgLCDv8O7x7ejx/Dog7vLq8O7pIPHu7Ort8/L7IO3l4+7pIOLn7vD7IO3g4vHy8OX38yDx5eLl8O3u6SDA4vDu8PssIOfi5efk7v4g8eXi5fDgIP/i6PH8IQ==",
  ],
  shift_jis: [
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。しかもあとで聞くとそれは書生という人間中で一番獰悪な種族であったそうだ。",
    "jOGUeYLNlEyCxYKggumBQpa8kU+CzYLcgr6Ws4KigUKCx4KxgsWQtoLqgr2CqYLGgvGCxoypk5aCqoLCgqmCyoFCib2CxYLglJaIw4KigraC34K2gt+CtYK9j4qCxYNqg4OBW4Nqg4OBW4uDgqKCxIKigr2OloK+gq+CzYtMia+CtYLEgqKC6YFCjOGUeYLNgrGCsYLFjm6C34LEkGyK1ILGgqKCpILggsyC8Iypgr2BQoK1gqmC4IKggsaCxZW3gq2CxoK7guqCzY+RkLaCxoKigqSQbIrUkoaCxYjqlNTg1oirgsiO7ZGwgsWCoILBgr2Cu4Kkgr6BQg==",
  ],
  gb18030: [
    "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。寒来暑往，秋收冬藏。闰余成岁，律吕调阳。云腾致雨，露结为霜。金生丽水，玉出昆冈。剑号巨阙，珠称夜光。果珍李柰，菜重芥姜。海咸河淡，鳞潜羽翔。",
    "zOy12ND+u8ajrNPu1ua66bvEoaPI1dTC06/qvqOss73L3sHQ1cWho7quwLTK7s35o6zH78rVtqyy2KGjyPLT4LPJy+qjrMLJwsC199H0oaPUxsza1sLT6qOswra94c6qy6qho73wyfrA9suuo6zT8bP2wKW41KGjvaO6xb7e49qjrNbps8bSubnioaO5+9XkwO7ozaOsssvW2L3mvaqho7qjz8y607Wto6zB28ex0/DP6KGj",
  ],
  "euc-kr": [
    "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다. 인간은 천부적으로 이성과 양심을 부여받았으며 서로 형제애의 정신으로 행동하여야 한다.",
    "uPC15yDAzrCjwLogxcK+7rOvILanus7FzSDA2sCvt86/7LjnILHXIMG4vvaw+iCxx7iuv6EgwNa+7iC1v7Xux8+02S4gwM6wo8C6IMO1us7A+8C4t84gwMy8urD6IL7nvcnAuyC6zr+pud6+0sC4uOcgvK23ziDH/MGmvtbAxyDBpL3FwLi3ziDH4LW/x8+/qb7fIMfRtNku",
  ],
  "iso-8859-7": [
    "Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην αξιοπρέπεια και τα δικαιώματα. Είναι προικισμένοι με λογική και συνείδηση, και οφείλουν να συμπεριφέρονται μεταξύ τους με πνεύμα αδελφοσύνης.",
    "vOvv6SDv6SDc7ejx+fDv6SDj5e3t6e/97fTh6SDl6+X96OXx7+kg6uHpIN/z7+kg8/Tn7SDh7unv8PHd8OXp4SDq4ekg9OEg5Onq4en+7OH04S4gxd/t4ekg8PHv6erp8+zd7e/pIOzlIOvv4+nq3iDq4ekg8/Xt5d/k5/PnLCDq4ekg7/bl3+vv9e0g7eEg8/Xs8OXx6fbd8e/t9OHpIOzl9OHu/SD07/XyIOzlIPDt5f3s4SDh5OXr9u/z/e3n8i4=",
  ],
} as const;

describe("detectCharset", () => {
  test.each(Object.entries(samples))(
    "detects %s and the text decodes back",
    (charset, [text, b64]) => {
      const bytes = Buffer.from(b64, "base64");
      const detected = detectCharset(bytes);
      expect(detected).toBe(charset);
      expect(new TextDecoder(detected).decode(bytes)).toBe(text);
    },
  );

  test("a long latin1 text decodes back whatever single-byte Western label is picked", () => {
    const text =
      "Le coeur a ses raisons que la raison ne connaît point ; on le sait en mille choses. Je dis que le coeur aime l'être universel naturellement, et soi-même naturellement.";
    const bytes = Buffer.from(text, "latin1");
    expect(new TextDecoder(detectCharset(bytes)).decode(bytes)).toBe(text);
  });

  test("an empty body is utf-8", () => {
    expect(detectCharset(new Uint8Array(0))).toBe("utf-8");
  });

  test("ASCII is utf-8", () => {
    expect(detectCharset(Buffer.from('plain ascii text {"json": 1}'))).toBe("utf-8");
  });

  test("valid UTF-8 is utf-8, even a short sample", () => {
    expect(detectCharset(Buffer.from("é"))).toBe("utf-8");
    expect(detectCharset(Buffer.from("Grüße aus 東京 🎌"))).toBe("utf-8");
  });

  test("a UTF-8 byte-order mark gives utf-8", () => {
    expect(detectCharset(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toBe("utf-8");
  });

  test("a UTF-16LE byte-order mark gives utf-16le", () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("hi there", "utf16le")]);
    expect(detectCharset(bytes)).toBe("utf-16le");
  });

  test("a UTF-16BE byte-order mark gives utf-16be", () => {
    const le = Buffer.from("hi there", "utf16le");
    const be = Buffer.from(le).swap16();
    expect(detectCharset(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toBe("utf-16be");
  });

  test("a short non-UTF-8 sample falls back to windows-1252, losing no byte", () => {
    const bytes = Buffer.from("café", "latin1");
    const detected = detectCharset(bytes);
    expect(detected).toBe("windows-1252");
    expect(new TextDecoder(detected).decode(bytes)).toBe("café");
  });

  test("a truncated UTF-8 sequence is not taken for UTF-8", () => {
    const bytes = Buffer.from("ok " + "é").subarray(0, 4);
    expect(detectCharset(bytes)).not.toBe("utf-8");
  });

  test("whatever it detects, TextDecoder knows the label", () => {
    for (let seed = 1; seed < 40; seed++) {
      const bytes = Buffer.alloc(200);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (seed * 7919 * (i + 1)) & 0xff;
      expect(isKnownCharset(detectCharset(bytes))).toBe(true);
    }
  });
});

describe("isKnownCharset", () => {
  test.each([
    "utf-8",
    "UTF8",
    "latin1",
    "windows-1251",
    "shift_jis",
    "euc-jp",
    "gb18030",
    "koi8-r",
  ])("%s is known", (label) => {
    expect(isKnownCharset(label)).toBe(true);
  });

  test.each(["utf-32le", "x-made-up", "", "iso-2022-kr"])("%j is not", (label) => {
    expect(isKnownCharset(label)).toBe(false);
  });
});
