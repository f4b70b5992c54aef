// isValidHeaderName and isValidHeaderValue: the checks send() applies, exported so that
// a caller (@x/pool) can refuse a bad field early with exactly the same rules.
import { describe, expect, it } from "vitest";
import {
  Connection,
  isValidHeaderName,
  isValidHeaderValue,
  LocalProtocolError,
} from "../src/index.js";

describe("isValidHeaderName and isValidHeaderValue", () => {
  // Whether send() takes a request with this one extra field.
  const sends = (name: string, value: string): boolean => {
    const fields: [string, string][] = [
      ["Host", "a"],
      [name, value],
    ];
    try {
      new Connection("client").send({
        type: "Request",
        method: "GET",
        target: "/",
        headers: fields,
      });
      return true;
    } catch (error) {
      expect(error).toBeInstanceOf(LocalProtocolError);
      return false;
    }
  };
  // Every code unit up to U+00FF and two above, first, inside and last.
  const units = Array.from({ length: 0x102 }, (_, c) => String.fromCharCode(c));
  const values = [
    "",
    "a b",
    "a \t b",
    " ",
    "\ud83d\ude00",
    ...units.flatMap((u) => [u, `a${u}b`, `ab${u}`]),
  ];

  // The rules written out code unit by code unit (RFC 9110 §5.5 and §5.6.2, with h11's
  // field-vchar: any byte but NUL and whitespace), to check the regexes against.
  const codes = (text: string) => Array.from(text, (_, i) => text.charCodeAt(i));
  const tchar = (c: number) => /[-!#$%&'*+.^_`|~0-9a-zA-Z]/.test(String.fromCharCode(c));
  const fieldVchar = (c: number) => c <= 0xff && c !== 0 && !(c >= 0x09 && c <= 0x0d) && c !== 0x20;
  const nameRule = (name: string) => name.length > 0 && codes(name).every(tchar);
  const valueRule = (value: string) =>
    codes(value).every((c) => fieldVchar(c) || c === 0x20 || c === 0x09) &&
    (value === "" ||
      (fieldVchar(value.charCodeAt(0)) && fieldVchar(value.charCodeAt(value.length - 1))));

  it("say what send() says, and what the rules say, for names and values", () => {
    for (const name of ["", "X Y", "X:Y", ...units.map((u) => `X${u}`), ...units]) {
      const verdicts = [isValidHeaderName(name), sends(name, "v"), nameRule(name)];
      expect([name, ...verdicts]).toEqual([name, verdicts[2], verdicts[2], verdicts[2]]);
    }
    for (const value of values) {
      const verdicts = [isValidHeaderValue(value), sends("X-V", value), valueRule(value)];
      expect([value, ...verdicts]).toEqual([value, verdicts[2], verdicts[2], verdicts[2]]);
    }
    expect(values.filter(valueRule).length).toBeGreaterThan(600);
  });

  it("take latin1 bytes as they are and trim nothing", () => {
    expect(isValidHeaderValue("caf\xe9\xa0")).toBe(true);
    expect(isValidHeaderValue("\xa0")).toBe(true);
    for (const bad of [
      "b\x0bc",
      "b\x0cc",
      "a\0",
      "a\rb",
      "a\nb",
      " a",
      "a ",
      "\ta",
      "a\t",
      "\u0100",
    ]) {
      expect([bad, isValidHeaderValue(bad)]).toEqual([bad, false]);
    }
    expect(isValidHeaderName("!#$%&'*+-.^_`|~09AZaz")).toBe(true);
    expect(isValidHeaderName(7 as never)).toBe(false);
    expect(isValidHeaderValue(7 as never)).toBe(false);
  });
});
