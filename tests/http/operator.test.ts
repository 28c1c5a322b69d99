import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "../../src/cli/serve.ts";
import { ADMIN_TOKEN, newTestApp, tempDir, testConfig } from "../helpers.ts";

// SPEC §6.1–§6.8, §7.10, §7.13: what the operator sees and does.

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const STATE_KEYS = ["codes", "hash_codes", "loop_guard", "max_idle_seconds", "messages", "peers", "public_url", "room", "room_status", "rooms", "roster", "version", "waiting"];
const seqs = (messages: any[]) => messages.map((m) => m.seq);

describe("GET /admin/state (SPEC §6.1)", () => {
  test("has every key; messages are scoped by room and page back by 60 with before", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_IDLE_SECONDS: "321" });
    for (let i = 1; i <= 130; i++) await t.admin("POST", "/admin/say", { room: "lab", text: `lab ${i}` });
    for (let i = 1; i <= 3; i++) await t.admin("POST", "/admin/say", { room: "side", text: `side ${i}` });
    const all = (await t.admin("GET", "/admin/state")).json;
    expect(Object.keys(all).sort()).toEqual(STATE_KEYS);
    expect(all).toMatchObject({ version: "1.1.0", public_url: "http://localhost", hash_codes: true, room: null, max_idle_seconds: 321 });
    // Unscoped: the newest 60 of all rooms by insertion order, oldest first.
    expect(all.messages).toHaveLength(60);
    expect(all.messages.at(-1)).toMatchObject({ room: "side", seq: 3, text: "side 3", expects_reply_resolved: "none" });
    expect(all.messages[0]).toMatchObject({ room: "lab", seq: 74 });
    expect(Object.keys(all.messages[0]).sort()).toEqual(["claim_expires_at", "claim_note", "claimed_by", "expects_reply", "expects_reply_resolved", "from", "receipts", "reply_to", "room", "seq", "text", "thread", "to", "ts"]);
    const page = async (q: string) => (await t.admin("GET", `/admin/state?${q}`)).json;
    expect(seqs((await page("room=lab")).messages)).toEqual(Array.from({ length: 60 }, (_, i) => 71 + i));
    expect(seqs((await page("room=lab&before=71")).messages)).toEqual(Array.from({ length: 60 }, (_, i) => 11 + i));
    expect(seqs((await page("room=lab&before=11")).messages)).toEqual(Array.from({ length: 10 }, (_, i) => 1 + i));
    expect((await page("room=lab&before=1")).messages).toEqual([]);
    expect(await page("room=nothing")).toMatchObject({ room: "nothing", messages: [] });
    expect((await page("room=")).room).toBeNull();
    expect((await page("room=")).messages).toHaveLength(60);
    const forwarded = await t.req("GET", "/admin/state", { headers: { "x-admin-token": ADMIN_TOKEN, "x-forwarded-proto": "https, http", "x-forwarded-host": "ops.example.test" } });
    expect(forwarded.json.public_url).toBe("https://ops.example.test");
  });

  test("rooms, room_status, codes and peers", async () => {
    const t = newTestApp({ ARGYBARGY_RATE_MAX: "0" });
    // Exact times: the order of rooms with equal seconds_since_last must not depend on how long the calls take.
    t.clock.freeze();
    const alice = await t.invite("alice", "a-room", { capabilities: "ts" });
    await t.admin("POST", "/admin/invite", { name: "exp", room: "b-room", expires: "1h" });
    await alice.req("POST", "/messages", { text: "first" });
    t.clock.advance(10_000);
    await t.admin("POST", "/admin/say", { room: "b-room", text: "later" });
    await t.admin("POST", "/admin/say", { room: "c-room", text: "same time" });
    await t.admin("POST", "/admin/rooms/b-room/close", { by: "boss" });
    await t.admin("POST", "/admin/rooms/empty/close");
    await t.admin("POST", "/admin/rooms/empty/reopen");
    const s = (await t.admin("GET", "/admin/state")).json;
    expect(s.rooms.map((r: any) => r.room)).toEqual(["b-room", "c-room", "a-room"]);
    const b = s.rooms[0];
    expect(Object.keys(b).sort()).toEqual(["agent_run", "closed_at", "closed_by", "last_seq", "last_ts", "messages", "paused", "room", "seconds_since_last", "status"]);
    expect(b).toMatchObject({ room: "b-room", messages: 1, last_seq: 1, status: "closed", closed_by: "boss" });
    expect(b.closed_at).toMatch(ISO);
    expect(s.rooms[2]).toMatchObject({ room: "a-room", status: "open", closed_at: null, closed_by: null });
    expect(s.rooms[2].seconds_since_last).toBeCloseTo(10, 0); // 10 s on the test clock plus the real time the calls took
    expect(s.rooms[2].last_ts).toMatch(ISO);
    expect(Object.keys(s.room_status).sort()).toEqual(["b-room", "empty"]);
    expect(s.room_status.empty).toEqual({ name: "empty", status: "open", closed_at: null, closed_by: null });
    expect(s.codes.map((c: any) => c.name)).toEqual(["alice", "exp"]);
    expect(Object.keys(s.codes[0]).sort()).toEqual(["capabilities", "code", "created", "expires", "name", "room"]);
    expect(s.codes[0]).toMatchObject({ code: `${alice.code.slice(0, 4)}…${alice.code.slice(-4)}`, room: "a-room", capabilities: "ts", expires: null });
    expect(s.codes[1].expires).toMatch(ISO);
    expect(JSON.stringify(s)).not.toContain(alice.code);
    // Whole seconds: the test clock moved 10 s, the calls themselves take real milliseconds.
    for (const list of Object.values(s.peers) as any[][]) for (const p of list) p.seconds_since_seen = Math.round(p.seconds_since_seen);
    expect(s.peers).toEqual({
      "a-room": [{ name: "alice", online: true, seconds_since_seen: 10 }],
      "b-room": [{ name: "operator", online: true, seconds_since_seen: 0 }],
      "c-room": [{ name: "operator", online: true, seconds_since_seen: 0 }],
    });
  });

  test("with ARGYBARGY_HASH_CODES=0 the codes are listed in full", async () => {
    const t = newTestApp({ ARGYBARGY_HASH_CODES: "0" });
    const alice = await t.invite("alice");
    const s = (await t.admin("GET", "/admin/state")).json;
    expect(s.hash_codes).toBe(false);
    expect(s.codes[0].code).toBe(alice.code);
    expect((await alice.req("GET", "/whoami")).status).toBe(200);
    expect((await t.admin("POST", "/admin/revoke", { target: alice.code })).json).toEqual({ revoked: 1 });
    const audit = await t.admin("GET", "/admin/audit");
    expect(audit.text).not.toContain(alice.code);
    expect(audit.json.events.at(-1).detail).toBe(`${alice.code.slice(0, 4)}…${alice.code.slice(-4)} (1)`);
  });

  test("roster: presence ∪ posters ∪ unexpired code holders, with sources in order", async () => {
    const t = newTestApp({ ARGYBARGY_RATE_MAX: "0", ARGYBARGY_ONLINE_WINDOW: "60" });
    const alice = await t.invite("alice", "lab", { capabilities: "reads" });
    const carol = await t.invite("carol", "lab");
    await t.admin("POST", "/admin/invite", { name: "gone", room: "lab", expires: "1h" });
    await carol.req("POST", "/messages", { text: "carol was here" });
    await t.admin("POST", "/admin/revoke", { target: "carol" });
    await alice.req("POST", "/messages", { text: "alice too" });
    // A day later presence is forgotten and gone's code has expired; then bob is invited and alice calls in.
    t.clock.advance(25 * 3600_000);
    t.relay.sweep();
    await t.invite("bob", "lab", { capabilities: "writes" });
    await alice.req("GET", "/whoami");
    const roster = (await t.admin("GET", "/admin/state")).json.roster;
    expect(Object.keys(roster)).toEqual(["lab"]);
    const rows = roster.lab;
    expect(rows.map((r: any) => r.name)).toEqual(["alice", "bob", "carol"]);
    expect(Object.keys(rows[0]).sort()).toEqual(["capabilities", "last_message_seconds", "name", "online", "seconds_since_seen", "sources"]);
    expect(rows[0]).toMatchObject({ online: true, seconds_since_seen: 0, capabilities: "reads", sources: ["presence", "code", "messages"] });
    expect(rows[0].last_message_seconds).toBeCloseTo(90_000, -1);
    expect(rows[1]).toEqual({ name: "bob", online: false, seconds_since_seen: null, last_message_seconds: null, capabilities: "writes", sources: ["code"] });
    // Posting never makes online; a revoked poster stays through its messages.
    expect(rows[2]).toMatchObject({ name: "carol", online: false, seconds_since_seen: null, capabilities: "", sources: ["messages"] });
  });
});

describe("stats and audit (SPEC §6.2, §6.3, §7.13)", () => {
  test("/admin/stats counts", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_MESSAGES_PER_ROOM: "2" });
    const alice = await t.invite("alice", "lab");
    await t.admin("POST", "/admin/invite", { name: "old", expires: "0m" });
    for (let i = 0; i < 3; i++) await t.admin("POST", "/admin/say", { room: "lab", text: "x" });
    await t.admin("POST", "/admin/say", { room: "other", text: "x" });
    await alice.req("GET", "/whoami");
    const s = (await t.admin("GET", "/admin/stats")).json;
    expect(Object.keys(s).sort()).toEqual(["codes", "messages", "online_peers", "open_streams", "parked_polls", "polling_agents", "rooms", "uptime_seconds", "version"]);
    expect(s).toMatchObject({ version: "1.1.0", codes: 2, messages: 3, rooms: 2, online_peers: 3, parked_polls: 0, polling_agents: 0, open_streams: 0 });
    expect(Number.isInteger(s.uptime_seconds)).toBe(true);
  });

  test("every event of §7.13, with its actor, room and detail; nothing else", async () => {
    const t = newTestApp({ ARGYBARGY_AUTH_FAIL_MAX: "0" });
    const alice = await t.invite("alice", "lab", { capabilities: "caps!" });
    const bob = await t.invite("bob", "lab");
    await alice.req("GET", "/whoami");
    await alice.req("POST", "/messages", { text: "not audited" });
    await alice.req("GET", "/history");
    const q = await t.admin("POST", "/admin/say", { room: "lab", text: "q", expects_reply: "anyone", to: "alice" });
    await alice.req("POST", `/messages/${q.json.message.seq}/claim`);
    await alice.req("POST", `/messages/${q.json.message.seq}/claim`);
    await bob.req("POST", `/messages/${q.json.message.seq}/claim`).catch(() => null);
    const closed = await t.admin("POST", "/admin/rooms/lab/close", { by: "boss" });
    await t.admin("POST", "/admin/rooms/lab/reopen");
    await t.req("GET", "/admin/stats", { headers: { "x-admin-token": "bad" } });
    await t.req("GET", "/admin/stats");
    await t.admin("POST", "/admin/revoke", { target: "bob" });
    await t.admin("POST", "/admin/regenerate-token");
    const token = t.savedToken()!;
    const events = (await t.req("GET", "/admin/audit", { headers: { "x-admin-token": token } })).json.events;
    for (const e of events) {
      expect(Object.keys(e).sort()).toEqual(["action", "actor", "detail", "room", "ts"]);
      expect(e.ts).toMatch(ISO);
    }
    expect(events.map((e: any) => [e.action, e.actor, e.room, e.detail])).toEqual([
      ["invite", "admin", "lab", "alice"],
      ["invite", "admin", "lab", "bob"],
      ["connect", "alice", "lab", "caps!"],
      ["say", "operator", "lab", "-> alice"],
      ["claim", "alice", "lab", "seq=2"],
      ["connect", "bob", "lab", ""],
      ["room_close", "boss", "lab", closed.json.room.closed_at],
      ["room_reopen", "operator", "lab", ""],
      ["admin_auth_failed", "", "", "ip=local count=2"],
      ["revoke", "admin", "", "bob (1)"],
      ["regenerate_admin_token", "admin", "", ""],
    ]);
  });

  test("limit 1..1000 (default 100): the newest events, oldest first; MAX_AUDIT drops the oldest", async () => {
    const t = newTestApp();
    for (let i = 1; i <= 120; i++) await t.admin("POST", "/admin/invite", { name: `n${i}` });
    const details = async (q = "") => (await t.admin("GET", `/admin/audit${q}`)).json.events.map((e: any) => e.detail);
    expect(await details()).toEqual(Array.from({ length: 100 }, (_, i) => `n${21 + i}`));
    expect(await details("?limit=1")).toEqual(["n120"]);
    expect(await details("?limit=1000")).toHaveLength(120);
    const capped = newTestApp({ ARGYBARGY_MAX_AUDIT: "5" });
    for (let i = 1; i <= 12; i++) await capped.admin("POST", "/admin/invite", { name: `n${i}` });
    expect((await capped.admin("GET", "/admin/audit?limit=1000")).json.events.map((e: any) => e.detail)).toEqual(["n8", "n9", "n10", "n11", "n12"]);
  });
});

describe("operator actions (SPEC §6.4–§6.9)", () => {
  test("/admin/invite answers the code once with the public URL and a pasteable instruction", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_WAIT: "17" });
    const r = await t.req("POST", "/admin/invite", {
      headers: { "x-admin-token": ADMIN_TOKEN, "x-forwarded-proto": "https", "x-forwarded-host": "bridge.example.test" },
      body: { name: "alice", room: "lab", expires: "1d", capabilities: "reviews" },
    });
    expect(Object.keys(r.json).sort()).toEqual(["capabilities", "code", "expires", "instruction", "name", "room", "url"]);
    expect(r.json).toMatchObject({ name: "alice", room: "lab", capabilities: "reviews", url: "https://bridge.example.test" });
    expect(r.json.code).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Date.parse(r.json.expires) - t.clock.now()).toBeGreaterThan(86_400_000 - 5000);
    const text = r.json.instruction as string;
    for (const part of [r.json.code, "https://bridge.example.test", `Authorization: Bearer ${r.json.code}`, "wait=17", "since=<cursor>", "should_exit",
      `claude mcp add --transport http argybargy https://bridge.example.test/mcp --header "Authorization: Bearer ${r.json.code}"`]) expect(text).toContain(part);
    expect(text).not.toContain("\n");
    const defaults = (await t.admin("POST", "/admin/invite", { name: "bob" })).json;
    expect(defaults).toMatchObject({ room: "default", expires: null, capabilities: "", url: "http://localhost" });
  });

  test("the change counter moves on every change an operator view shows, and only then", async () => {
    const t = newTestApp();
    const alice = await t.invite("alice", "lab");
    const bob = await t.invite("bob", "lab");
    const cursor = async () => (await t.admin("GET", "/admin/changes")).json.cursor as number;
    const cases: [string, () => Promise<unknown>, boolean][] = [
      ["an agent's first presence", () => alice.req("GET", "/whoami"), true],
      ["a repeated request", () => alice.req("GET", "/whoami"), false],
      ["a read", () => alice.req("GET", "/history"), false],
      ["a post", () => alice.req("POST", "/messages", { text: "q", expects_reply: "anyone" }), true],
      ["a claim", () => bob.req("POST", "/messages/1/claim"), true],
      ["a lost claim", () => alice.req("POST", "/messages/1/claim"), false],
      ["an invite", () => t.admin("POST", "/admin/invite", { name: "carol", room: "lab" }), true],
      ["a revoke", () => t.admin("POST", "/admin/revoke", { target: "carol" }), true],
      ["a close", () => t.admin("POST", "/admin/rooms/lab/close"), true],
      ["a reopen", () => t.admin("POST", "/admin/rooms/lab/reopen"), true],
      ["an admin read", () => t.admin("GET", "/admin/state"), false],
      ["a failed admin auth", () => t.req("GET", "/admin/stats", { headers: { "x-admin-token": "bad" } }), true],
    ];
    for (const [name, act, moves] of cases) {
      const before = await cursor();
      await act();
      const after = await t.admin("GET", `/admin/changes?since=${before}`);
      expect({ name, moved: after.json.cursor > before, changed: after.json.changed }).toEqual({ name, moved: moves, changed: moves });
    }
  });

  test("/admin/say: sender default operator, another sender allowed, closed room allowed, wakes polls", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_WAIT: "10" });
    const bob = await t.invite("bob", "lab");
    const plain = await t.admin("POST", "/admin/say", { room: "lab", text: "hello" });
    expect(plain.json).toEqual({ ok: true, message: {
      seq: 1, ts: expect.stringMatching(ISO), from: "operator", to: "all", text: "hello", expects_reply: "none", claimed_by: null,
      reply_to: null, thread: 1, claim_expires_at: null,
    } });
    expect((await t.admin("POST", "/admin/say", { text: "to default" })).json.message).toMatchObject({ seq: 1, from: "operator" });
    expect((await t.admin("POST", "/admin/say", { room: "lab", text: "as helper", sender: "helper", to: "bob" })).json.message)
      .toMatchObject({ from: "helper", to: "bob", expects_reply: "bob" });
    expect((await t.admin("POST", "/admin/say", { room: "lab", text: "x", sender: "Anyone" })).json).toMatchObject({ error: "invalid", field: "sender" });
    const poll = bob.req("GET", "/messages?since=2&wait=10");
    const started = Date.now();
    await Bun.sleep(50);
    await t.admin("POST", "/admin/rooms/lab/close");
    const inClosed = await t.admin("POST", "/admin/say", { room: "lab", text: "after close", to: "helper" });
    expect(inClosed.status).toBe(200);
    const r = await poll;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r.json).toMatchObject({ should_exit: true, exit_reason: "room_closed" });
    expect((await bob.req("GET", "/messages?since=2")).json.messages).toEqual([]); // a DM to helper, not bob
    expect((await bob.req("GET", "/peers")).json.peers.map((p: any) => p.name)).toEqual(["bob", "helper", "operator"]);
  });

  test("close and reopen: optional bodies, by trimmed, idempotent, any room name", async () => {
    const t = newTestApp();
    const close = async (body: string | undefined, room = "lab") =>
      t.req("POST", `/admin/rooms/${room}/close`, { body, headers: { "x-admin-token": ADMIN_TOKEN } });
    for (const body of [undefined, "", "null", "{}", '{"by":"  "}', '{"by":null}', '{"by":"x","other":1}']) {
      const r = await close(body);
      expect({ body, status: r.status }).toEqual({ body, status: 200 });
      expect(r.json).toEqual({ ok: true, room: { name: "lab", status: "closed", closed_at: expect.stringMatching(ISO), closed_by: body?.includes('"x"') ? "x" : "operator" } });
    }
    expect((await close('{"by":""}')).status).toBe(422);
    const first = (await close('{"by":" ops "}')).json.room;
    expect(first.closed_by).toBe("ops");
    t.clock.advance(5000);
    const again = (await close('{"by":"boss"}')).json.room;
    expect(again.closed_by).toBe("boss");
    expect(Date.parse(again.closed_at) - Date.parse(first.closed_at)).toBeGreaterThanOrEqual(5000);
    const reopened = await t.req("POST", "/admin/rooms/lab/reopen", { headers: { "x-admin-token": ADMIN_TOKEN } });
    expect(reopened.json).toEqual({ ok: true, room: { name: "lab", status: "open", closed_at: null, closed_by: null } });
    expect((await close(undefined, "never-used%2Dyet")).json.room.name).toBe("never-used-yet");
    const state = (await t.admin("GET", "/admin/state")).json;
    expect(state.room_status["never-used-yet"]).toMatchObject({ status: "closed" });
    expect(state.room_status.lab).toMatchObject({ status: "open" });
  });

  test("regenerate-token writes admin.token (0600; on PostgreSQL the database) and swaps it at once", async () => {
    const dir = tempDir();
    const server = await startServer(testConfig({ ARGYBARGY_PORT: "0", ARGYBARGY_LOG_LEVEL: "error" }, dir.path));
    // On PostgreSQL every instance takes the token from the database, never from the file.
    const stored = async () => server.relay.shared ? await server.relay.shared.adminToken() : await Bun.file(tokenPath).text();
    const tokenPath = join(dir.path, "admin.token");
    try {
      const get = (token: string) => fetch(`${server.url}/admin/stats`, { headers: { "x-admin-token": token } });
      expect(await stored()).toBe(server.adminToken);
      const r = await fetch(`${server.url}/admin/regenerate-token`, { method: "POST", headers: { "x-admin-token": server.adminToken } });
      const fresh = ((await r.json()) as { admin_token: string }).admin_token;
      expect(fresh).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect((await get(server.adminToken)).status).toBe(401);
      expect((await get(fresh)).status).toBe(200);
      expect(await stored()).toBe(fresh);
      if (!server.relay.shared) expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
      // The public URL is read from url.txt per request (trimmed, no trailing slash).
      await Bun.write(join(dir.path, "url.txt"), "  https://tunnel.example.test/ \n");
      const invite = await fetch(`${server.url}/admin/invite`, { method: "POST", headers: { "x-admin-token": fresh }, body: JSON.stringify({ name: "alice" }) });
      expect(((await invite.json()) as { url: string }).url).toBe("https://tunnel.example.test");
      const state = (await (await get(fresh)).json()) as Record<string, unknown>;
      expect(state.codes).toBe(1);
    } finally {
      await server.stop();
      dir.cleanup();
    }
  });
});
