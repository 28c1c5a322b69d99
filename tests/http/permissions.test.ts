import { expect, test } from "bun:test";
import { ADMIN_TOKEN, newTestApp } from "../helpers.ts";

// SPEC §1.2: who may call what. One matrix per surface: admin routes, agent routes, public routes.

const ENV = { ARGYBARGY_AUTH_FAIL_MAX: "0", ARGYBARGY_RATE_MAX: "0" };

type Res = { status: number; json: any; headers: Headers };
interface Row {
  method: string;
  url: string;
  as: string;
  status: number;
  body?: unknown;
  /** Extra assertions on a successful answer. */
  check?: (r: Res) => void;
}

/** Runs every row in order; a failure names the row. */
async function runMatrix(rows: Row[], send: (row: Row) => Promise<Res>) {
  for (const row of rows) {
    const r = await send(row);
    const label = `${row.method} ${row.url} as ${row.as}`;
    expect({ row: label, status: r.status }).toEqual({ row: label, status: row.status });
    if (r.status === 401) {
      expect({ row: label, error: r.json?.error }).toEqual({ row: label, error: "unauthorized" });
      // Agents are told how to send a code; the operator that the admin token is missing or wrong.
      expect({ row: label, says: r.json.message.includes(row.url.startsWith("/admin") ? "admin token" : "Authorization: Bearer <code>") }).toEqual({ row: label, says: true });
    }
    row.check?.(r);
  }
}

async function setup() {
  const t = newTestApp(ENV);
  const alice = await t.invite("alice", "lab");
  await t.invite("bob", "lab");
  const olga = await t.invite("olga", "other");
  // seq 1 in lab: an open question from the operator; seq 2: a DM between others.
  await t.admin("POST", "/admin/say", { room: "lab", text: "lab question", expects_reply: "anyone" });
  await t.admin("POST", "/admin/say", { room: "lab", text: "lab secret for bob", to: "bob" });
  const credentials: Record<string, Record<string, string>> = {
    "no credentials": {},
    "wrong admin token": { "x-admin-token": "not-the-token-0123456789abcdefgh" },
    "agent code in X-Admin-Token": { "x-admin-token": alice.code },
    "agent code as bearer": { authorization: `Bearer ${alice.code}` },
    "non-ASCII admin token": { "x-admin-token": "tökén-ünïcødé-ß" },
    "admin token with a trailing byte": { "x-admin-token": `${ADMIN_TOKEN}x` },
    "valid admin token": { "x-admin-token": ADMIN_TOKEN },
    guest: {},
    "bearer code": { authorization: `Bearer ${alice.code}` },
    "lower-case bearer with spaces": { authorization: `bearer    ${alice.code}   ` },
    "bare code": { authorization: alice.code },
    "code of another room": { authorization: `Bearer ${olga.code}` },
    "admin token as bearer": { authorization: `Bearer ${ADMIN_TOKEN}` },
    "admin token as bare code": { authorization: ADMIN_TOKEN },
    "admin token in X-Admin-Token": { "x-admin-token": ADMIN_TOKEN },
  };
  const send = async (row: Row): Promise<Res> => {
    const r = await t.req(row.method, row.url, { body: row.body, headers: credentials[row.as] });
    return { status: r.status, json: r.json, headers: r.headers };
  };
  return { t, alice, olga, send, credentials };
}

const ADMIN_IDS = ["no credentials", "wrong admin token", "agent code in X-Admin-Token", "agent code as bearer", "non-ASCII admin token", "admin token with a trailing byte", "valid admin token"];

test("admin routes answer only the valid admin token", async () => {
  const { t, send } = await setup();
  const routes: { method: string; url: string; body?: unknown; check?: (r: Res) => void }[] = [
    { method: "GET", url: "/admin/state", check: (r) => expect(r.json.version).toBe("1.1.0") },
    { method: "GET", url: "/admin/stats", check: (r) => expect(r.json.codes).toBe(3) },
    { method: "GET", url: "/admin/audit", check: (r) => expect(Array.isArray(r.json.events)).toBe(true) },
    { method: "GET", url: "/admin/changes?wait=0", check: (r) => expect(typeof r.json.cursor).toBe("number") },
    { method: "POST", url: "/admin/invite", body: { name: "zed", room: "x" }, check: (r) => expect(r.json).toMatchObject({ name: "zed", room: "x" }) },
    { method: "POST", url: "/admin/revoke", body: { target: "zed" }, check: (r) => expect(r.json).toEqual({ revoked: 1 }) },
    { method: "POST", url: "/admin/say", body: { room: "x", text: "hi" }, check: (r) => expect(r.json.message.from).toBe("operator") },
    { method: "POST", url: "/admin/rooms/x/close", check: (r) => expect(r.json.room.status).toBe("closed") },
    { method: "POST", url: "/admin/rooms/x/reopen", check: (r) => expect(r.json.room.status).toBe("open") },
  ];
  const rows = routes.flatMap((route) => ADMIN_IDS.map((as): Row => ({
    ...route, as, status: as === "valid admin token" ? 200 : 401, check: as === "valid admin token" ? route.check : undefined,
  })));
  const messagesBefore = (await t.admin("GET", "/admin/stats")).json.messages;
  await runMatrix(rows, send);
  // Only the one valid /admin/say wrote a message; refused invites wrote no code.
  const stats = (await t.admin("GET", "/admin/stats")).json;
  expect(stats).toMatchObject({ messages: messagesBefore + 1, codes: 3 });
  expect(t.errors).toEqual([]);
});

test("regenerate-token: refused without the valid token; with it the old token stops working", async () => {
  const { t, send } = await setup();
  const rows = ADMIN_IDS.map((as): Row => ({ method: "POST", url: "/admin/regenerate-token", as, status: as === "valid admin token" ? 200 : 401 }));
  // The refused attempts first: the token must still be the old one afterwards.
  await runMatrix(rows.slice(0, -1), send);
  expect((await t.admin("GET", "/admin/stats")).status).toBe(200);
  expect(t.savedToken()).toBeNull();
  const last = await send(rows.at(-1)!);
  expect(last.status).toBe(200);
  expect(last.json.admin_token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(t.savedToken()).toBe(last.json.admin_token);
  expect((await t.admin("GET", "/admin/stats")).status).toBe(401);
  expect((await t.req("GET", "/admin/stats", { headers: { "x-admin-token": last.json.admin_token } })).status).toBe(200);
  expect(t.errors).toEqual([]);
});

const AGENT_IDS = ["guest", "bearer code", "lower-case bearer with spaces", "bare code", "code of another room", "admin token as bearer", "admin token as bare code", "admin token in X-Admin-Token"];
const texts = (r: Res) => (r.json.messages as { text: string }[]).map((m) => m.text);

test("agent routes answer a valid code, in the code's own room only", async () => {
  const { t, send } = await setup();
  const alicey = ["bearer code", "lower-case bearer with spaces", "bare code"];
  const expectFor = (as: string, ok: number, mine: (r: Res) => void, theirs: (r: Res) => void): Pick<Row, "status" | "check"> => {
    if (alicey.includes(as)) return { status: ok, check: mine };
    if (as === "code of another room") return { status: ok, check: theirs };
    return { status: 401 };
  };
  const routes: { method: string; url: string; body?: unknown; row: (as: string) => Pick<Row, "status" | "check"> }[] = [
    {
      method: "GET", url: "/whoami", row: (as) => expectFor(as, 200,
        (r) => expect(r.json).toEqual({ name: "alice", room: "lab", capabilities: "" }),
        (r) => expect(r.json).toEqual({ name: "olga", room: "other", capabilities: "" })),
    },
    {
      method: "GET", url: "/peers", row: (as) => expectFor(as, 200,
        (r) => expect(r.json.room).toBe("lab"),
        (r) => expect(r.json).toMatchObject({ room: "other", peers: [{ name: "olga" }] })),
    },
    {
      method: "GET", url: "/messages?since=0&wait=0", row: (as) => expectFor(as, 200,
        (r) => expect(texts(r)).toEqual(["lab question"]),
        (r) => expect(r.json).toMatchObject({ messages: [], cursor: 0, room: { name: "other" } })),
    },
    {
      method: "GET", url: "/history", row: (as) => expectFor(as, 200,
        (r) => expect(r.json).toMatchObject({ room: "lab", messages: [{ text: "lab question" }] }),
        (r) => expect(r.json).toMatchObject({ room: "other", messages: [] })),
    },
    {
      // seq 1 exists only in lab; the first valid claim wins it, the retries are idempotent.
      method: "POST", url: "/messages/1/claim", row: (as) => as === "code of another room"
        ? { status: 404, check: (r) => expect(r.json.error).toBe("not_found") }
        : expectFor(as, 200, (r) => expect(r.json).toEqual({ won: true, claimed_by: "alice", seq: 1, claim_expires_at: expect.any(String) }), () => {}),
    },
    {
      method: "POST", url: "/messages", body: { text: "hello" }, row: (as) => expectFor(as, 200,
        (r) => expect(r.json.message).toMatchObject({ from: "alice", to: "all" }),
        (r) => expect(r.json.message).toMatchObject({ from: "olga", seq: 1 })),
    },
  ];
  const rows = routes.flatMap((route) => AGENT_IDS.map((as): Row => ({ method: route.method, url: route.url, body: route.body, as, ...route.row(as) })));
  await runMatrix(rows, send);
  // Afterwards: alice's three posts are in lab, olga's one in other; the other room never saw lab.
  const state = (await t.admin("GET", "/admin/state")).json;
  const byRoom = (room: string) => state.messages.filter((m: any) => m.room === room).map((m: any) => m.from);
  expect(byRoom("lab")).toEqual(["operator", "operator", "alice", "alice", "alice"]);
  expect(byRoom("other")).toEqual(["olga"]);
  const olgaHistory = await send({ method: "GET", url: "/history", as: "code of another room", status: 200 });
  expect(texts(olgaHistory)).toEqual(["hello"]);
  expect(t.errors).toEqual([]);
});

test("the stream answers a valid code with its own room's messages; every other identity gets 401 before anything", async () => {
  const { t, credentials } = await setup();
  for (const as of AGENT_IDS) {
    const res = await t.app.handle(new Request("http://localhost/messages/stream", { headers: credentials[as] }));
    if (res.status !== 200) {
      expect({ as, status: res.status, error: ((await res.json()) as any).error }).toEqual({ as, status: 401, error: "unauthorized" });
      expect(["bearer code", "lower-case bearer with spaces", "bare code", "code of another room"]).not.toContain(as);
      continue;
    }
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    // Read until the backlog's events are in: lab's one visible message, or none in "other".
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("event: message") && !(as === "code of another room" && text.includes("retry:"))) {
      text += new TextDecoder().decode((await reader.read()).value);
    }
    await reader.cancel();
    if (as === "code of another room") expect({ as, text }).toEqual({ as, text: expect.not.stringContaining("lab") });
    else expect({ as, text }).toEqual({ as, text: expect.stringContaining('"text":"lab question"') });
    expect(text).not.toContain("lab secret for bob");
  }
  await Bun.sleep(20);
  expect(t.relay.streams.count()).toBe(0);
  expect(t.errors).toEqual([]);
});

test("public routes need no credentials and ignore any sent", async () => {
  const { t, send } = await setup();
  const routes: { url: string; status: number; type: string }[] = [
    { url: "/", status: 200, type: "application/json" },
    { url: "/health", status: 200, type: "application/json" },
    { url: "/openapi.json", status: 200, type: "application/json" },
    { url: "/docs", status: 200, type: "text/html" },
    { url: "/docs/assets/init.js", status: 200, type: "text/javascript" },
    { url: "/docs/assets/swagger-ui-bundle.js", status: 200, type: "text/javascript" },
    { url: "/docs/assets/swagger-ui.css", status: 200, type: "text/css" },
    { url: "/redoc", status: 302, type: "" },
    { url: "/dashboard", status: 200, type: "text/html" },
    { url: "/dashboard/assets/app.js", status: 200, type: "text/javascript" },
    { url: "/dashboard/assets/app.css", status: 200, type: "text/css" },
  ];
  const ids = ["guest", "admin token as bearer", "wrong admin token", "bearer code", "valid admin token"];
  const rows = routes.flatMap((r) => ids.map((as): Row => ({
    method: "GET", url: r.url, as, status: r.status,
    check: (res) => expect({ url: r.url, type: (res.headers.get("content-type") ?? "").split(";")[0] }).toEqual({ url: r.url, type: r.type || "" }),
  })));
  await runMatrix(rows, send);
  expect((await send({ method: "GET", url: "/health", as: "admin token as bearer", status: 200 })).json).toEqual({ status: "ok", version: "1.1.0" });
  expect(t.errors).toEqual([]);
});
