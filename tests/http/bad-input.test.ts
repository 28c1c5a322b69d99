import { expect, test } from "bun:test";
import { ADMIN_TOKEN, newTestApp } from "../helpers.ts";

// SPEC §1.1–§1.3, §4.2, §4.4, §5.5–§6.8: every kind of bad input gets its exact status, error
// code and field, nothing is written, and the server never answers 500.

const ENV = {
  ARGYBARGY_MAX_TEXT: "300",
  ARGYBARGY_MAX_BODY_BYTES: "1024",
  ARGYBARGY_RATE_MAX: "0",
  ARGYBARGY_AUTH_FAIL_MAX: "0",
};
/** max(MAX_BODY_BYTES, 12 × MAX_TEXT + 4096) with the settings above. */
const CAP = 7696;
const HUGE = "9007199254740993"; // 2^53 + 1

type Who = "guest" | "alice" | "admin" | Record<string, string>;
type Body = string | object | Uint8Array | (() => ReadableStream<Uint8Array>);

interface Case {
  name: string;
  method: string;
  path: string;
  as: Who;
  body?: Body;
  headers?: Record<string, string>;
  status: number;
  error?: string;
  field?: string;
  /** Further fields the body must carry. */
  extra?: Record<string, unknown>;
  /** A header the response must carry. */
  header?: [string, string];
  /** Accepted requests write exactly one row of this kind; every other case writes nothing. */
  writes?: "message" | "code";
}

const json = (s: string) => s;
const bytes = (s: string) => new TextEncoder().encode(s);
const padded = (size: number) => {
  const head = '{"text":"exactly at the byte cap"}';
  return head + " ".repeat(size - head.length);
};
const chunked = (size: number) => () =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (let sent = 0; sent < size; sent += 1000) c.enqueue(new Uint8Array(Math.min(1000, size - sent)).fill(0x20));
      c.close();
    },
  });
const astral = (n: number) => "\u{1F600}".repeat(n);
const escapedAstral = (n: number) => `{"text":"${"\\ud83d\\ude00".repeat(n)}"}`;

const post = (body: Body, extra: Partial<Case> & { name: string; status: number }): Case =>
  ({ method: "POST", path: "/messages", as: "alice", body, ...extra });
const bad = (name: string, body: Body, field: string): Case => post(body, { name, status: 422, error: "invalid", field });
const intCases = (method: string, pathFor: (v: string) => string, who: Who, field: string, values: string[]): Case[] =>
  values.map((v) => ({ name: `${field}=${JSON.stringify(v)} on ${pathFor(v)}`, method, path: pathFor(v), as: who, status: 422, error: "invalid", field }));
const members = ["alice", "bob", "operator"];

const CASES: Case[] = [
  // Bodies (§1.1)
  bad("malformed JSON", json('{"text":'), "body"),
  bad("JSON array", json('[{"text":"hi"}]'), "body"),
  bad("JSON number", json("42"), "body"),
  bad("JSON string", json('"hello"'), "body"),
  bad("JSON null", json("null"), "body"),
  bad("empty body", "", "body"),
  bad("invalid UTF-8", new Uint8Array([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), "body"),
  post(json('{"text":"sent as text/plain"}'), { name: "text/plain with valid JSON is accepted", headers: { "content-type": "text/plain" }, status: 200, writes: "message" }),
  post(bytes('{"text":"no content type"}'), { name: "no Content-Type with valid JSON is accepted", status: 200, writes: "message" }),
  post(json('{"text":"odd type"}'), { name: "application/x-www-form-urlencoded with JSON is parsed as JSON", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 200, writes: "message" }),
  // Field types (§1.1, §5.5)
  bad("number for text", { text: 5 }, "text"),
  bad("missing text", { to: "all" }, "text"),
  bad("null text", { text: null }, "text"),
  bad("empty text", { text: "" }, "text"),
  bad("array for to", { text: "x", to: ["bob"] }, "to"),
  bad("null for to", { text: "x", to: null }, "to"),
  bad("empty to", { text: "x", to: "" }, "to"),
  bad("to over 64 characters", { text: "x", to: "b".repeat(65) }, "to"),
  bad("object for expects_reply", { text: "x", expects_reply: { who: "bob" } }, "expects_reply"),
  bad("boolean for expects_reply", { text: "x", expects_reply: true }, "expects_reply"),
  bad("expects_reply over 64 characters", { text: "x", expects_reply: "b".repeat(65) }, "expects_reply"),
  bad("lone high surrogate in text", json('{"text":"\\ud800"}'), "text"),
  bad("lone low surrogate in text", json('{"text":"a\\udc00b"}'), "text"),
  bad("lone surrogate in to", json('{"text":"x","to":"\\udbff"}'), "to"),
  // Text length in code points (§1.1, §7.9)
  bad("text of MAX_TEXT + 1 ASCII characters", { text: "a".repeat(301) }, "text"),
  bad("text of MAX_TEXT + 1 astral characters", { text: astral(301) }, "text"),
  post({ text: astral(300) }, { name: "text of exactly MAX_TEXT astral characters (600 UTF-16 units)", status: 200, writes: "message" }),
  post(json(escapedAstral(300)), { name: "MAX_TEXT astral characters written as \\u escapes fit the body cap", status: 200, writes: "message" }),
  // Size cap (§1.1): before parsing, before authentication
  post(json(padded(CAP)), { name: "body of exactly the cap", status: 200, writes: "message" }),
  post(json(padded(CAP + 1)), { name: "body one byte over the cap", status: 413, error: "payload_too_large", extra: { max_bytes: CAP } }),
  post(json('{"text":"small"}'), { name: "Content-Length over the cap decides before reading", headers: { "content-length": String(CAP + 1) }, status: 413, error: "payload_too_large", extra: { max_bytes: CAP } }),
  post(chunked(CAP + 1), { name: "chunked body over the cap", status: 413, error: "payload_too_large", extra: { max_bytes: CAP } }),
  post(chunked(3 * CAP), { name: "oversized body from a guest is 413, not 401", as: "guest", status: 413, error: "payload_too_large", extra: { max_bytes: CAP } }),
  { name: "a no-body endpoint still counts its body toward the cap", method: "POST", path: "/messages/1/claim", as: "alice", body: padded(CAP + 1), status: 413, error: "payload_too_large", extra: { max_bytes: CAP } },
  // Integers in query and path (§1.1)
  ...intCases("GET", (v) => `/messages?since=${v}`, "alice", "since", ["1.5", "abc", "", "-1", HUGE, "1e3", "0x10"]),
  ...intCases("GET", (v) => `/messages?wait=${v}`, "alice", "wait", ["1.5", "abc", "", "-1", HUGE]),
  ...intCases("GET", (v) => `/history?limit=${v}`, "alice", "limit", ["1.5", "abc", "", "-1", "0", HUGE]),
  ...intCases("POST", (v) => `/messages/${v}/claim`, "alice", "seq", ["1.5", "abc", HUGE, "-9007199254740993"]),
  { name: "a malformed escape as seq", method: "POST", path: "/messages/%ZZ/claim", as: "alice", status: 422, error: "invalid", field: "seq" },
  { name: "seq=-1 is a claim of nothing (404)", method: "POST", path: "/messages/-1/claim", as: "alice", status: 404, error: "not_found" },
  { name: "seq=0 is a claim of nothing (404)", method: "POST", path: "/messages/0/claim", as: "alice", status: 404, error: "not_found" },
  ...intCases("GET", (v) => `/admin/audit?limit=${v}`, "admin", "limit", ["1.5", "abc", "", "0", "-1", "1001", HUGE]),
  ...intCases("GET", (v) => `/admin/state?room=lab&before=${v}`, "admin", "before", ["1.5", "abc", "0", "-1", HUGE]),
  { name: "before without room", method: "GET", path: "/admin/state?before=5", as: "admin", status: 422, error: "invalid", field: "before" },
  { name: "state of an invalid room", method: "GET", path: "/admin/state?room=a%20b", as: "admin", status: 422, error: "invalid", field: "room" },
  ...intCases("GET", (v) => `/admin/changes?since=${v}`, "admin", "since", ["1.5", "abc", "-1", HUGE]),
  ...intCases("GET", (v) => `/admin/changes?wait=${v}`, "admin", "wait", ["1.5", "abc", "-1", HUGE]),
  // Routing before credentials (§1.1, §1.2)
  { name: "unknown path", method: "GET", path: "/nope", as: "guest", status: 404, error: "not_found" },
  { name: "unknown admin path", method: "GET", path: "/admin/nope", as: "guest", status: 404, error: "not_found" },
  { name: "trailing slash on /messages", method: "GET", path: "/messages/", as: "alice", status: 404, error: "not_found" },
  { name: "trailing slash on /health", method: "GET", path: "/health/", as: "guest", status: 404, error: "not_found" },
  { name: "trailing slash on /admin/state", method: "GET", path: "/admin/state/", as: "admin", status: 404, error: "not_found" },
  { name: "DELETE /messages", method: "DELETE", path: "/messages", as: "guest", status: 405, error: "method_not_allowed", header: ["allow", "GET, HEAD, POST"] },
  { name: "PUT /health", method: "PUT", path: "/health", as: "guest", status: 405, error: "method_not_allowed", header: ["allow", "GET, HEAD"] },
  { name: "GET /admin/invite", method: "GET", path: "/admin/invite", as: "guest", status: 405, error: "method_not_allowed", header: ["allow", "POST"] },
  { name: "GET on a claim", method: "GET", path: "/messages/1/claim", as: "alice", status: 405, error: "method_not_allowed", header: ["allow", "POST"] },
  { name: "POST /admin/state", method: "POST", path: "/admin/state", as: "admin", body: "{", status: 405, error: "method_not_allowed", header: ["allow", "GET, HEAD"] },
  // Credentials (§1.2): 401 before input validation
  { name: "no credentials", method: "GET", path: "/whoami", as: "guest", status: 401, error: "unauthorized" },
  { name: "Basic auth", method: "GET", path: "/whoami", as: { authorization: "Basic YWxpY2U6c2VjcmV0" }, status: 401, error: "unauthorized" },
  { name: "Bearer with nothing after it", method: "GET", path: "/whoami", as: { authorization: "Bearer " }, status: 401, error: "unauthorized" },
  { name: "unknown code", method: "GET", path: "/whoami", as: { authorization: "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, status: 401, error: "unauthorized" },
  { name: "admin token as bearer", method: "GET", path: "/whoami", as: { authorization: `Bearer ${ADMIN_TOKEN}` }, status: 401, error: "unauthorized" },
  { name: "agent code as admin token", method: "GET", path: "/admin/stats", as: { "x-admin-token": "<alice>" }, status: 401, error: "unauthorized" },
  post(json("{"), { name: "guest with a malformed body gets 401, not 422", as: "guest", status: 401, error: "unauthorized" }),
  { name: "wrong admin token with a bad body gets 401", method: "POST", path: "/admin/say", as: { "x-admin-token": "wrong" }, body: "[", status: 401, error: "unauthorized" },
  { name: "wrong admin token with a bad invite gets 401", method: "POST", path: "/admin/invite", as: { "x-admin-token": "" }, body: { name: "operator" }, status: 401, error: "unauthorized" },
  // Addressing (§5.5, §7.10)
  post({ text: "x", to: "ghost" }, { name: "to a non-member", status: 422, error: "unknown_recipient", field: "to", extra: { members } }),
  post({ text: "x", to: "Bob" }, { name: "to is case-sensitive", status: 422, error: "unknown_recipient", field: "to", extra: { members } }),
  post({ text: "x", expects_reply: " ghost " }, { name: "expects_reply naming a non-member", status: 422, error: "unknown_recipient", field: "expects_reply", extra: { members } }),
  post({ text: "x", expects_reply: "all" }, { name: "expects_reply all is not none, anyone or a member", status: 422, error: "unknown_recipient", field: "expects_reply", extra: { members } }),
  post({ text: "x", expects_reply: "Anyone" }, { name: "expects_reply words are case-sensitive", status: 422, error: "unknown_recipient", field: "expects_reply", extra: { members } }),
  post({ text: "x", to: "anyone" }, { name: "to anyone is not a member", status: 422, error: "unknown_recipient", field: "to", extra: { members } }),
  post({ text: "x", to: " bob " }, { name: "to is not trimmed", status: 422, error: "unknown_recipient", field: "to", extra: { members } }),
  { name: "a no-body endpoint ignores a malformed body", method: "POST", path: "/messages/99/claim", as: "alice", body: "{", status: 404, error: "not_found" },
  // Invites (§4.2, §4.4, §6.4)
  ...[["a b", "space"], ["-x", "leading dash"], [".x", "leading dot"], ["x".repeat(65), "65 characters"], ["", "empty"], ["café", "non-ASCII"], ["a/b", "slash"]]
    .map(([name, why]): Case => ({ name: `invite name with ${why}`, method: "POST", path: "/admin/invite", as: "admin", body: { name }, status: 422, error: "invalid", field: "name" })),
  ...["Operator", "ALL", "anyone", "None"].map((name): Case => ({ name: `reserved name ${name}`, method: "POST", path: "/admin/invite", as: "admin", body: { name }, status: 422, error: "invalid", field: "name" })),
  { name: "a name of exactly 64 characters", method: "POST", path: "/admin/invite", as: "admin", body: { name: "N".repeat(64), room: "r".repeat(64) }, status: 200, writes: "code" },
  { name: "invite without a name", method: "POST", path: "/admin/invite", as: "admin", body: { room: "lab" }, status: 422, error: "invalid", field: "name" },
  { name: "invite name as a number", method: "POST", path: "/admin/invite", as: "admin", body: { name: 7 }, status: 422, error: "invalid", field: "name" },
  { name: "invite into an invalid room", method: "POST", path: "/admin/invite", as: "admin", body: { name: "carol", room: "a b" }, status: 422, error: "invalid", field: "room" },
  ...["bogus", "10x", "-5m", "1y", "soon", "99999999 weeks"].map((expires): Case => ({
    name: `expires ${expires}`, method: "POST", path: "/admin/invite", as: "admin", body: { name: "carol", room: "lab", expires }, status: 400, error: "bad_request", field: "expires",
  })),
  { name: "expires as a number", method: "POST", path: "/admin/invite", as: "admin", body: { name: "carol", expires: 5 }, status: 422, error: "invalid", field: "expires" },
  { name: "capabilities of 401 characters", method: "POST", path: "/admin/invite", as: "admin", body: { name: "carol", capabilities: "c".repeat(401) }, status: 422, error: "invalid", field: "capabilities" },
  { name: "capabilities as a number", method: "POST", path: "/admin/invite", as: "admin", body: { name: "carol", capabilities: 3 }, status: 422, error: "invalid", field: "capabilities" },
  { name: "capabilities of exactly 400 astral characters", method: "POST", path: "/admin/invite", as: "admin", body: { name: "capper", capabilities: astral(400) }, status: 200, writes: "code" },
  { name: "name held by an active code", method: "POST", path: "/admin/invite", as: "admin", body: { name: "alice", room: "lab" }, status: 409, error: "name_taken", field: "name" },
  // /admin/say (§6.6)
  ...["all", "Anyone", "NONE", "a b"].map((sender): Case => ({ name: `say as sender ${sender}`, method: "POST", path: "/admin/say", as: "admin", body: { text: "x", room: "lab", sender }, status: 422, error: "invalid", field: "sender" })),
  { name: "say without text", method: "POST", path: "/admin/say", as: "admin", body: { room: "lab" }, status: 422, error: "invalid", field: "text" },
  { name: "say over MAX_TEXT", method: "POST", path: "/admin/say", as: "admin", body: { room: "lab", text: astral(301) }, status: 422, error: "invalid", field: "text" },
  { name: "say into an invalid room", method: "POST", path: "/admin/say", as: "admin", body: { text: "x", room: "x/y" }, status: 422, error: "invalid", field: "room" },
  { name: "say to a non-member", method: "POST", path: "/admin/say", as: "admin", body: { text: "x", room: "lab", to: "ghost" }, status: 422, error: "unknown_recipient", field: "to", extra: { members } },
  { name: "say with a JSON array body", method: "POST", path: "/admin/say", as: "admin", body: "[]", status: 422, error: "invalid", field: "body" },
  // /admin/revoke (§6.5)
  { name: "revoke without target", method: "POST", path: "/admin/revoke", as: "admin", body: {}, status: 422, error: "invalid", field: "target" },
  { name: "revoke with an empty target", method: "POST", path: "/admin/revoke", as: "admin", body: { target: "" }, status: 422, error: "invalid", field: "target" },
  { name: "revoke with a 257-character target", method: "POST", path: "/admin/revoke", as: "admin", body: { target: "t".repeat(257) }, status: 422, error: "invalid", field: "target" },
  { name: "revoke with a numeric target", method: "POST", path: "/admin/revoke", as: "admin", body: { target: 5 }, status: 422, error: "invalid", field: "target" },
  { name: "revoke within an invalid room", method: "POST", path: "/admin/revoke", as: "admin", body: { target: "alice", room: "a b" }, status: 422, error: "invalid", field: "room" },
  { name: "revoke with an empty body", method: "POST", path: "/admin/revoke", as: "admin", body: "", status: 422, error: "invalid", field: "body" },
  // close/reopen (§6.8)
  { name: "close with by empty", method: "POST", path: "/admin/rooms/lab/close", as: "admin", body: { by: "" }, status: 422, error: "invalid", field: "by" },
  { name: "close with by of 65 characters", method: "POST", path: "/admin/rooms/lab/close", as: "admin", body: { by: "b".repeat(65) }, status: 422, error: "invalid", field: "by" },
  { name: "close with a numeric by", method: "POST", path: "/admin/rooms/lab/close", as: "admin", body: { by: 5 }, status: 422, error: "invalid", field: "by" },
  { name: "close with a malformed body", method: "POST", path: "/admin/rooms/lab/close", as: "admin", body: "{", status: 422, error: "invalid", field: "body" },
  { name: "close with an array body", method: "POST", path: "/admin/rooms/lab/close", as: "admin", body: "[1]", status: 422, error: "invalid", field: "body" },
  { name: "close an invalid room name", method: "POST", path: "/admin/rooms/a%20b/close", as: "admin", status: 422, error: "invalid", field: "room" },
  { name: "reopen an invalid room name", method: "POST", path: "/admin/rooms/-lab/reopen", as: "admin", status: 422, error: "invalid", field: "room" },
  { name: "a room path is URL-decoded once, not twice", method: "POST", path: "/admin/rooms/%2541bc/close", as: "admin", status: 422, error: "invalid", field: "room" },
  { name: "a malformed escape in a room path", method: "POST", path: "/admin/rooms/%ZZ/reopen", as: "admin", status: 422, error: "invalid", field: "room" },
  { name: "reopen a 65-character room", method: "POST", path: `/admin/rooms/${"r".repeat(65)}/reopen`, as: "admin", status: 422, error: "invalid", field: "room" },
];

test("bad input gets its exact error, writes nothing and never a 500", async () => {
  const t = newTestApp(ENV);
  const alice = await t.invite("alice", "lab");
  await t.invite("bob", "lab");
  const headersFor = (who: Who): Record<string, string> => {
    if (who === "guest") return {};
    if (who === "alice") return { authorization: `Bearer ${alice.code}` };
    if (who === "admin") return { "x-admin-token": ADMIN_TOKEN };
    return Object.fromEntries(Object.entries(who).map(([k, v]) => [k, v === "<alice>" ? alice.code : v]));
  };
  const send = async (c: Case) => {
    const raw = c.body;
    const body = raw === undefined ? undefined
      : typeof raw === "function" ? raw()
      : typeof raw === "string" || raw instanceof Uint8Array ? raw
      : JSON.stringify(raw);
    const init = { method: c.method, body, headers: { ...headersFor(c.as), ...c.headers }, duplex: "half" } as RequestInit;
    const res = await t.app.handle(new Request(`http://localhost${c.path}`, init));
    const text = await res.text();
    return { res, json: JSON.parse(text) as Record<string, unknown> };
  };
  const written = async () => {
    const stats = (await t.admin("GET", "/admin/stats")).json;
    const state = (await t.admin("GET", "/admin/state")).json;
    return { messages: stats.messages as number, codes: stats.codes as number, statuses: Object.keys(state.room_status).length };
  };

  let before = await written();
  for (const c of CASES) {
    const { res, json: body } = await send(c);
    const got = { status: res.status, error: body.error, field: body.field };
    expect({ case: c.name, ...got }).toEqual({ case: c.name, status: c.status, error: c.error, field: c.field });
    if (c.status !== 200) {
      expect({ case: c.name, message: typeof body.message }).toEqual({ case: c.name, message: "string" });
      expect(res.headers.get("content-type")).toStartWith("application/json");
    }
    if (c.extra) expect({ case: c.name, ...body }).toMatchObject({ case: c.name, ...c.extra });
    if (c.header) expect({ case: c.name, value: res.headers.get(c.header[0]) }).toEqual({ case: c.name, value: c.header[1] });
    const after = await written();
    const expected = {
      ...before,
      messages: before.messages + (c.writes === "message" ? 1 : 0),
      codes: before.codes + (c.writes === "code" ? 1 : 0),
    };
    expect({ case: c.name, ...after }).toEqual({ case: c.name, ...expected });
    expect({ case: c.name, errors: t.errors }).toEqual({ case: c.name, errors: [] });
    before = after;
  }
});
