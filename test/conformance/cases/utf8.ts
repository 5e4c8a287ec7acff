// Autobahn 6: UTF-8 in text messages, whole and fragmented at every byte (a frame boundary may
// split a character; only the message must be valid, RFC 6455 5.6 and 8.1).
import { type Case, custom, echo, fail, nonStrict, ok, txt } from "../case.js";
import { cont, fragmented, OP, text } from "../frames.js";

const section = "UTF-8 handling" as const;
const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ""), "hex");

/** Valid UTF-8 (Markus Kuhn's stress test, as Autobahn uses it). */
const VALID: readonly [string, Buffer][] = [
  ["Latin-1 letters", Buffer.from("Hello-µ@ßöäüàá-UTF-8!!")],
  ["Greek κόσμε", Buffer.from("κόσμε")],
  ["first 1-byte character U+0000", hex("00")],
  ["first 2-byte character U+0080", hex("c2 80")],
  ["first 3-byte character U+0800", hex("e0 a0 80")],
  ["first 4-byte character U+10000", hex("f0 90 80 80")],
  ["last 1-byte character U+007F", hex("7f")],
  ["last 2-byte character U+07FF", hex("df bf")],
  ["last 3-byte character U+FFFF", hex("ef bf bf")],
  ["last 4-byte character U+10FFFF", hex("f4 8f bf bf")],
  ["U+D7FF, before the surrogates", hex("ed 9f bf")],
  ["U+E000, after the surrogates", hex("ee 80 80")],
  ["U+FFFD replacement character", hex("ef bf bd")],
  ["noncharacters U+FFFE and U+FDD0", hex("ef bf be ef b7 90")],
];

/** Invalid UTF-8: each must fail the connection with 1007 (RFC 6455 8.1). */
const INVALID: readonly [string, Buffer][] = [
  ["κόσμε with a surrogate in the middle", hex("cebae1bdb9cf83cebcceb5eda080656469746564")],
  ["lone continuation byte 0x80", hex("80")],
  ["lone continuation byte 0xbf", hex("bf")],
  ["continuation bytes 80 bf 80 bf", hex("80 bf 80 bf")],
  ["2-byte start followed by a space", hex("c0 20")],
  ["3-byte start followed by a space", hex("e0 20")],
  ["4-byte start followed by a space", hex("f0 20")],
  ["2-byte sequence missing its last byte", hex("df")],
  ["3-byte sequence missing its last byte", hex("ef bf")],
  ["4-byte sequence missing its last byte", hex("f4 8f bf")],
  ["impossible byte 0xfe", hex("fe")],
  ["impossible byte 0xff", hex("ff")],
  ["overlong '/' in 2 bytes", hex("c0 af")],
  ["overlong '/' in 3 bytes", hex("e0 80 af")],
  ["overlong '/' in 4 bytes", hex("f0 80 80 af")],
  ["overlong U+07FF in 3 bytes", hex("e0 9f bf")],
  ["overlong NUL in 2 bytes", hex("c0 80")],
  ["high surrogate U+D800", hex("ed a0 80")],
  ["low surrogate U+DFFF", hex("ed bf bf")],
  ["surrogate pair U+D800 U+DC00", hex("ed a0 80 ed b0 80")],
  ["beyond U+10FFFF: F4 90 80 80", hex("f4 90 80 80")],
  ["5-byte sequence", hex("f8 88 80 80 80")],
  ["6-byte sequence", hex("fc 84 80 80 80 80")],
  ["valid text, then an invalid byte at the end", Buffer.concat([Buffer.from("Hello"), hex("ff")])],
];

const cases: Case[] = [
  {
    id: "6.1.1",
    section,
    title: "text of 3 empty fragments",
    send: (p) => p.send([text("", false), cont("", false), cont("")]),
    expect: echo([txt("")]),
  },
];

VALID.forEach(([name, data], i) => {
  cases.push(
    {
      id: `6.2.${i + 1}`,
      section,
      title: `valid: ${name}`,
      send: (p) => p.send(text(data)),
      expect: echo([txt(data)]),
    },
    {
      id: `6.3.${i + 1}`,
      section,
      title: `valid, in 1-byte fragments: ${name}`,
      send: (p) => p.send(fragmented(OP.TEXT, data, 1)),
      expect: echo([txt(data)]),
    },
  );
});

INVALID.forEach(([name, data], i) => {
  cases.push(
    {
      id: `6.4.${i + 1}`,
      section,
      title: `invalid: ${name}`,
      send: (p) => p.send(text(data)),
      expect: fail([1007]),
    },
    {
      id: `6.5.${i + 1}`,
      section,
      title: `invalid, in 1-byte fragments: ${name}`,
      send: (p) => p.send(fragmented(OP.TEXT, data, 1)),
      expect: fail([1007]),
    },
  );
});

// Autobahn 6.4: "fail fast". A server may fail as soon as a fragment proves the message
// invalid (OK) or only once the message ends (NON-STRICT, Autobahn's verdict for `ws`).
const FAST: readonly [string, Buffer, Buffer][] = [
  ["invalid code point in the 2nd fragment", Buffer.from("κόσμε"), hex("f4 90 80 80")],
  ["impossible byte in the 2nd fragment", Buffer.from("Hello"), hex("ff")],
  ["surrogate in the 2nd fragment", Buffer.from("κόσμε"), hex("ed a0 80")],
];
FAST.forEach(([name, valid, invalid], i) => {
  cases.push({
    id: `6.6.${i + 1}`,
    section,
    title: `fail fast: ${name}, the message not yet ended`,
    async send(p) {
      await p.send([text(valid, false), cont(invalid, false)]);
      await p.waitFor(() => p.outcome.serverClose !== null || p.outcome.ended, 300);
      p.mark("final fragment sent");
      await p.send(cont("edited"));
    },
    expect: custom(
      (o) => {
        const verdict = fail([1007]).judge(o);
        if (verdict.verdict !== "OK") return verdict;
        return o.events.indexOf("final fragment sent") < o.events.indexOf("server close")
          ? nonStrict(`failed once the message ended: ${verdict.detail}`)
          : ok(`failed on the invalid fragment: ${verdict.detail}`);
      },
      (o) => o.ended || o.serverClose !== null,
    ),
  });
});

export const utf8Cases: readonly Case[] = cases;
