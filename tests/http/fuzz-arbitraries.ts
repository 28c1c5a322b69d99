import fc from "fast-check";

// Generators for the HTTP fuzzer (fuzz-harness.ts): hostile values for every place a request
// carries input — path parameters, query strings, headers and bodies of every JSON type.

/** Strings that have broken parsers before: NUL, lone surrogates, bidi controls, BOM, long emoji runs, names that mean something here. */
const NASTY = [
  "", " ", "\u0000", "a\u0000b", "\ud800", "\udc00x", "x\ud83d", "\u202eevil\u202c", "\u200f\u200e", "\ufeff", "\u2028\u2029",
  "😀", "👩‍👩‍👧‍👦", "e\u0301", "operator", "all", "anyone", "none", "default", "admin", "fz-alice", "fz-bob", "fuzz-room",
  "null", "undefined", "NaN", "__proto__", "constructor", "toString", "<script>alert(1)</script>", "' OR 1=1 --", "%00", "\r\nX-Injected: 1",
  "../../etc/passwd", "10m", "1d", "never", "-1", "1e309", "0x7f", "a".repeat(65), "b".repeat(401),
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Any string a client could send, weighted towards the dangerous ones. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(fc.constantFrom("a", "\u0000", "\u202e", "😀"), loneSurrogate), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 9000 }).map((n) => "😀".repeat(n)) },
);

/** Numbers JSON can carry, from the ordinary to the absurd. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308, 5e-324, Number.MAX_VALUE),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, deep and wide, with nasty leaves. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    nastyString, nastyNumber, fc.boolean(), fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(nastyString, tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** The fields the API reads, so generated bodies reach the validators and handlers, not just "unknown field". */
const FIELDS = ["text", "to", "expects_reply", "room", "sender", "name", "expires", "capabilities", "target", "by", "seq", "reply_to", "ttl_s", "up_to"] as const;

/** A body whose known fields hold any JSON value (plain strings and numbers most often, so some requests succeed). */
export const fieldBody: fc.Arbitrary<Record<string, unknown>> = fc.record(
  Object.fromEntries(FIELDS.map((f) => [f, fc.oneof({ weight: 4, arbitrary: nastyString }, { weight: 2, arbitrary: nastyNumber }, { weight: 1, arbitrary: anyJson })])) as Record<(typeof FIELDS)[number], fc.Arbitrary<unknown>>,
  { requiredKeys: [] },
);

/** JSON-RPC messages for POST /mcp (single or batched), so the MCP tools run with generated arguments. */
export const rpcBody: fc.Arbitrary<unknown> = (() => {
  const one = fc.record({
    jsonrpc: fc.oneof({ weight: 5, arbitrary: fc.constant("2.0") }, { weight: 1, arbitrary: anyJson }),
    id: fc.oneof(fc.nat(), nastyString, fc.constant(null), anyJson),
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom("tools/call", "tools/list", "initialize", "ping", "notifications/initialized") },
      { weight: 1, arbitrary: nastyString },
    ),
    params: fc.oneof(
      fc.record({
        name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom("send", "wait", "claim", "history", "peers", "whoami") }, { weight: 1, arbitrary: nastyString }),
        arguments: fc.oneof(fieldBody, fc.record({ timeout_s: nastyNumber, limit: nastyNumber, seq: nastyNumber }, { requiredKeys: [] }), anyJson),
      }, { requiredKeys: [] }),
      fc.record({ protocolVersion: fc.constantFrom("2025-06-18", "2024-11-05", "bogus"), capabilities: fc.constant({}), clientInfo: fc.constant({ name: "fuzz", version: "0" }) }),
      anyJson,
    ),
  }, { requiredKeys: ["method"] });
  return fc.oneof({ weight: 5, arbitrary: one }, { weight: 1, arbitrary: fc.array(one, { maxLength: 12 }) });
})();

export type BodyCase =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "raw"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "deep"; depth: number }
  | { kind: "emoji"; bytes: number };

export const bodyCase: fc.Arbitrary<BodyCase> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 5, arbitrary: fieldBody.map((value) => ({ kind: "json" as const, value })) },
  { weight: 3, arbitrary: anyJson.map((value) => ({ kind: "json" as const, value })) },
  { weight: 2, arbitrary: rpcBody.map((value) => ({ kind: "json" as const, value })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((text) => ({ kind: "raw" as const, text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: "bytes" as const, bytes })) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((depth) => ({ kind: "deep" as const, depth })) },
  // ~1 MB of emoji (over the cap: 413 before parsing), or just under the cap (parsed and validated).
  { weight: 1, arbitrary: fc.constantFrom(1_000_000, 90_000, 30_000).map((bytes) => ({ kind: "emoji" as const, bytes })) },
);

/** Encodes a body case as bytes (undefined = no body). */
export function bodyBytes(b: BodyCase): Uint8Array | string | undefined {
  switch (b.kind) {
    case "none": return undefined;
    case "json": return JSON.stringify(b.value) ?? "null";
    case "raw": return b.text;
    case "bytes": return b.bytes;
    case "deep": return `${"[".repeat(b.depth)}${"]".repeat(b.depth)}`;
    case "emoji": return JSON.stringify({ text: "😀".repeat(Math.floor(b.bytes / 4)) });
  }
}

/** Raw path parameter values: valid, out of range, malformed percent-encoding, path tricks. */
export const paramValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("1", "2", "3", "fuzz-room", "default", "other") },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 50 }).map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("", "0", "-0", "1.5", "1e3", "0x10", "9007199254740993", "NaN", "Infinity", "+1", " 1", "%", "%zz", "%0", "%00",
      "%C0%AF", "%ED%A0%80", "%F0%9F%98%80", "%FF", "%2F", "..", "%2e%2e", "a%20b", "%u0041", "%%41", "%2541", "😀"),
  },
  { weight: 2, arbitrary: nastyString.map((s) => { try { return encodeURIComponent(s); } catch { return "%ED%A0%80"; } }) },
);

/** Header values, including what a buggy proxy sends. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", " ", "bearer", "Bearer ", "Basic dXNlcjpwYXNz", "null", "\t", "0", "-1", "99999999999999999999", "application/json",
    "http://evil.example", "https", "127.0.0.1", "::1", "😀"),
  fc.string({ unit: "grapheme-ascii", maxLength: 60 }),
  fc.integer({ min: 1, max: 200_000 }).map((n) => "x".repeat(n)),
);

export const headerName = fc.constantFrom(
  "x-forwarded-host", "x-forwarded-proto", "cf-connecting-ip", "origin", "host", "accept", "accept-encoding", "cookie",
  "x-admin-token", "authorization", "content-type", "access-control-request-method", "expect", "range", "if-none-match", "x-odd",
  "idempotency-key", "last-event-id",
);
