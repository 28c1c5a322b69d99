import { expect, test } from "bun:test";
import { maskCode, newSecret, parseBearer, parseExpiry, secretsEqual } from "../../src/relay/codes.ts";
import { RelayError } from "../../src/relay/errors.ts";

test("secrets are 32 base64url characters and never start with '-' (a CLI argument would read as a flag)", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const s = newSecret();
    expect(s).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{31}$/);
    seen.add(s);
  }
  expect(seen.size).toBe(3000);
});

test("masking shows the first 4 and last 4 characters only", () => {
  expect(maskCode("abcdEFGHijklMNOPqrstUVWXyz012345")).toBe("abcd…2345");
});

test("secret comparison: equal only when identical, including non-ASCII and length differences", () => {
  expect(secretsEqual("token", "token")).toBe(true);
  expect(secretsEqual("token", "token ")).toBe(false);
  expect(secretsEqual("tökén", "token")).toBe(false);
  expect(secretsEqual("", "token")).toBe(false);
});

test("bearer parsing: any case of 'bearer ', a bare code, trimmed; Basic and blanks are no code", () => {
  expect(parseBearer("Bearer abc")).toBe("abc");
  expect(parseBearer("bEaReR   abc  ")).toBe("abc");
  expect(parseBearer("abc")).toBe("abc");
  expect(parseBearer("Basic YWxhZGRpbjpvcGVu")).toBeNull();
  expect(parseBearer("Bearer ")).toBeNull();
  expect(parseBearer(null)).toBeNull();
});

test("expiry grammar (SPEC §4.4) as a table", () => {
  const now = 1_000_000;
  const H = 3600_000;
  const cases: [unknown, number | null][] = [
    [null, null], ["", null], ["never", null], [" NONE ", null], ["0", null],
    ["2", now + 2 * H], ["1.5 hours", now + 1.5 * H], ["10m", now + 600_000], ["30 mins", now + 1_800_000],
    ["1d", now + 24 * H], ["1w", now + 168 * H], ["1mo", now + 720 * H], ["2 months", now + 1440 * H],
    ["0m", now], ["0.0", now], ["3hrs", now + 3 * H],
  ];
  for (const [input, expected] of cases) expect(parseExpiry(input, now)).toBe(expected);
  for (const bad of ["bogus", "10x", "-5m", "1y", "soon", "99999999mo"]) {
    let err: unknown;
    try {
      parseExpiry(bad, now);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe("bad_request");
    expect((err as RelayError).extra.field).toBe("expires");
    expect((err as RelayError).message).toContain("10m, 30m, 60m, 1d, 1w, 1mo, never");
  }
  expect(() => parseExpiry(5, now)).toThrow(RelayError);
});
