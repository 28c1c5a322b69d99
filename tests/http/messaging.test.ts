import { describe, expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

// SPEC §5.5, §5.6, §5.8, §7.2, §7.3, §7.9: sending, receiving, visibility, cursor, retention.

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ECHO_KEYS = ["claim_expires_at", "claimed_by", "expects_reply", "from", "reply_to", "seq", "text", "thread", "to", "ts"];
const seqs = (r: { json: any }) => (r.json.messages as { seq: number }[]).map((m) => m.seq);
const texts = (r: { json: any }) => (r.json.messages as { text: string }[]).map((m) => m.text);

async function lab(env: Record<string, string> = {}) {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "0", ...env });
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  const carol = await t.invite("carol", "lab");
  return { t, alice, bob, carol };
}

describe("POST /messages", () => {
  test("defaults: to all, expects_reply none for broadcasts and the recipient for DMs; echo has SPEC §5.0's seven fields and issue 10's three", async () => {
    const { alice } = await lab();
    const cases: [unknown, { to: string; expects_reply: string }][] = [
      [{ text: "hi" }, { to: "all", expects_reply: "none" }],
      [{ text: "hi", to: "all", expects_reply: null }, { to: "all", expects_reply: "none" }],
      [{ text: "hi", to: "bob" }, { to: "bob", expects_reply: "bob" }],
      [{ text: "hi", to: "bob", expects_reply: "   " }, { to: "bob", expects_reply: "bob" }],
      [{ text: "hi", to: "bob", expects_reply: "none" }, { to: "bob", expects_reply: "none" }],
      [{ text: "hi", expects_reply: " anyone " }, { to: "all", expects_reply: "anyone" }],
      [{ text: "hi", expects_reply: "carol" }, { to: "all", expects_reply: "carol" }],
      [{ text: "hi", to: "operator" }, { to: "operator", expects_reply: "operator" }],
      [{ text: "hi", to: "bob", expects_reply: "operator", extra: [1, 2] }, { to: "bob", expects_reply: "operator" }],
    ];
    for (const [i, [body, want]] of cases.entries()) {
      const r = await alice.req("POST", "/messages", body);
      expect(r.status).toBe(200);
      expect(r.json.ok).toBe(true);
      expect(Object.keys(r.json.message).sort()).toEqual(ECHO_KEYS);
      expect(r.json.message).toMatchObject({ seq: i + 1, from: "alice", text: "hi", claimed_by: null, ...want });
      expect(r.json.message.ts).toMatch(ISO);
    }
  });

  test("text is stored and returned exactly as sent", async () => {
    const { alice, bob } = await lab();
    const text = "line one\n\tindented\u2028sep <b onclick=\"x\">'quoted'</b> \\ \u{1F600} é   ";
    expect((await alice.req("POST", "/messages", { text })).json.message.text).toBe(text);
    const polled = await bob.req("GET", "/messages");
    expect(texts(polled)).toEqual([text]);
    expect(polled.text).toContain("\u{1F600}"); // raw UTF-8 on the wire, not \u escapes
    expect(polled.text).not.toMatch(/[:,] "|\n/); // compact
    expect(texts(await bob.req("GET", "/history"))).toEqual([text]);
  });

  test("a DM to yourself is stored, never delivered, and in your own history", async () => {
    const { t, alice, bob } = await lab();
    const r = await alice.req("POST", "/messages", { text: "note to self", to: "alice" });
    expect(r.json.message).toMatchObject({ seq: 1, to: "alice", expects_reply: "alice" });
    const poll = await alice.req("GET", "/messages?since=0");
    expect(poll.json).toMatchObject({ messages: [], cursor: 1 });
    expect(texts(await alice.req("GET", "/history"))).toEqual(["note to self"]);
    expect(texts(await bob.req("GET", "/messages"))).toEqual([]);
    expect(texts(await bob.req("GET", "/history"))).toEqual([]);
    expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(1);
  });
});

describe("visibility (SPEC §7.3)", () => {
  test("DMs between others are invisible to a third agent on every agent path; you never receive your own", async () => {
    const { t, alice, bob, carol } = await lab();
    await alice.req("POST", "/messages", { text: "1 broadcast by alice" });
    await alice.req("POST", "/messages", { text: "2 alice to bob", to: "bob" });
    await t.admin("POST", "/admin/say", { room: "lab", text: "3 operator to bob", to: "bob" });
    await bob.req("POST", "/messages", { text: "4 bob to alice", to: "alice", expects_reply: "anyone" });
    await carol.req("POST", "/messages", { text: "5 carol to all" });

    const poll = async (who: typeof alice) => texts(await who.req("GET", "/messages?since=0"));
    const hist = async (who: typeof alice) => texts(await who.req("GET", "/history"));
    expect(await poll(alice)).toEqual(["4 bob to alice", "5 carol to all"]);
    expect(await poll(bob)).toEqual(["1 broadcast by alice", "2 alice to bob", "3 operator to bob", "5 carol to all"]);
    expect(await poll(carol)).toEqual(["1 broadcast by alice"]);
    expect(await hist(alice)).toEqual(["1 broadcast by alice", "2 alice to bob", "4 bob to alice", "5 carol to all"]);
    expect(await hist(bob)).toEqual(["1 broadcast by alice", "2 alice to bob", "3 operator to bob", "4 bob to alice", "5 carol to all"]);
    expect(await hist(carol)).toEqual(["1 broadcast by alice", "5 carol to all"]);
    // Claims follow the history rule: an invisible DM is "not found", not "not claimable".
    for (const seq of [2, 3, 4]) {
      const r = await carol.req("POST", `/messages/${seq}/claim`);
      expect({ seq, status: r.status, error: r.json.error }).toEqual({ seq, status: 404, error: "not_found" });
    }
    // The admin feed sees everything.
    expect((await t.admin("GET", "/admin/state?room=lab")).json.messages.map((m: any) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  test("a later holder of a name sees earlier DMs to that name", async () => {
    const { t, alice } = await lab();
    await alice.req("POST", "/messages", { text: "for bob", to: "bob" });
    expect((await t.admin("POST", "/admin/revoke", { target: "bob", room: "lab" })).json).toEqual({ revoked: 1 });
    const bob2 = await t.invite("bob", "lab");
    expect(texts(await bob2.req("GET", "/messages?since=0"))).toEqual(["for bob"]);
  });
});

describe("GET /messages cursor (SPEC §5.6, §7.2)", () => {
  test("cursor is the room's highest seq, visible or not; since beyond it returns the smaller cursor", async () => {
    const { t, alice, bob } = await lab();
    const empty = await bob.req("GET", "/messages?since=0&wait=0");
    expect(empty.json).toMatchObject({ messages: [], cursor: 0, room_closed: false, should_exit: false, exit_reason: null });
    expect(empty.json.room).toEqual({ name: "lab", status: "open", closed_at: null, closed_by: null });
    for (const text of ["a", "b", "c"]) await alice.req("POST", "/messages", { text });
    expect(await bob.req("GET", "/messages?since=0").then(seqs)).toEqual([1, 2, 3]);
    expect((await bob.req("GET", "/messages?since=1")).json).toMatchObject({ cursor: 3, messages: [{ seq: 2 }, { seq: 3 }] });
    expect((await bob.req("GET", "/messages?since=3")).json).toMatchObject({ cursor: 3, messages: [] });
    expect((await bob.req("GET", "/messages?since=100")).json).toMatchObject({ cursor: 3, messages: [] });
    // Invisible to bob (a DM between others, and bob's own post) but still advances his cursor.
    await alice.req("POST", "/messages", { text: "secret", to: "carol" });
    await bob.req("POST", "/messages", { text: "mine" });
    expect((await bob.req("GET", "/messages?since=3")).json).toMatchObject({ cursor: 5, messages: [] });
    // Operator posts share the sequence.
    expect((await t.admin("POST", "/admin/say", { room: "lab", text: "op" })).json.message.seq).toBe(6);
    const r = await bob.req("GET", "/messages?since=5");
    expect(r.json).toMatchObject({ cursor: 6, messages: [{ seq: 6, from: "operator", expects_reply_resolved: "none" }] });
    expect(Object.keys(r.json.messages[0]).sort()).toEqual([...ECHO_KEYS, "expects_reply_resolved"].sort());
    expect(Object.keys(r.json).sort()).toEqual(["cursor", "exit_reason", "messages", "paused", "poll_budget", "reopened", "room", "room_closed", "should_exit"]);
    expect(Object.keys(r.json.poll_budget).sort()).toEqual(["idle_seconds", "max_idle_seconds", "reason", "room_quiet_seconds", "seconds_left", "should_exit", "waited_seconds"]);
  });

  test("following the cursor delivers every visible message exactly once, in order", async () => {
    const { t, alice, bob } = await lab();
    const seen: number[] = [];
    let cursor = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) await alice.req("POST", "/messages", { text: `r${round}m${i}` });
      await t.admin("POST", "/admin/say", { room: "lab", text: "to carol", to: "carol" });
      const r = await bob.req("GET", `/messages?since=${cursor}`);
      seen.push(...seqs(r));
      cursor = r.json.cursor;
    }
    expect(cursor).toBe(20);
    expect(seen).toEqual([1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19]);
  });
});

describe("GET /history (SPEC §5.8)", () => {
  test("newest limit messages ascending, default 50, clamped to MAX_HISTORY", async () => {
    const { t, bob } = await lab({ ARGYBARGY_MAX_HISTORY: "60" });
    for (let i = 1; i <= 70; i++) await t.admin("POST", "/admin/say", { room: "lab", text: `m${i}` });
    const def = await bob.req("GET", "/history");
    expect(seqs(def)).toEqual(Array.from({ length: 50 }, (_, i) => 21 + i));
    expect(seqs(await bob.req("GET", "/history?limit=2"))).toEqual([69, 70]);
    expect(seqs(await bob.req("GET", "/history?limit=1000"))).toHaveLength(60);
    expect(def.json.room).toBe("lab");
    expect(def.json.room_status).toEqual({ name: "lab", status: "open", closed_at: null, closed_by: null });
    await t.admin("POST", "/admin/rooms/lab/close", { by: "ops" });
    const closed = await bob.req("GET", "/history?limit=1");
    expect(closed.status).toBe(200);
    expect(closed.json.room_status).toMatchObject({ status: "closed", closed_by: "ops" });
    expect(closed.json.room_status.closed_at).toMatch(ISO);
  });
});

describe("retention (SPEC §7.9)", () => {
  test("only the newest N per room are kept; seq keeps growing; a claim on a pruned seq is 404", async () => {
    const { t, alice, bob } = await lab({ ARGYBARGY_MAX_MESSAGES_PER_ROOM: "5" });
    for (let i = 1; i <= 8; i++) {
      await t.admin("POST", "/admin/say", { room: "lab", text: `q${i}`, expects_reply: "anyone" });
    }
    await t.admin("POST", "/admin/say", { room: "elsewhere", text: "untouched" });
    expect(seqs(await bob.req("GET", "/messages?since=0"))).toEqual([4, 5, 6, 7, 8]);
    expect((await bob.req("GET", "/messages?since=0")).json.cursor).toBe(8);
    expect(seqs(await bob.req("GET", "/history"))).toEqual([4, 5, 6, 7, 8]);
    const r2 = await bob.req("POST", "/messages/2/claim");
    expect({ status: r2.status, error: r2.json.error }).toEqual({ status: 404, error: "not_found" });
    expect((await bob.req("POST", "/messages/4/claim")).json).toEqual({ won: true, claimed_by: "bob", seq: 4, claim_expires_at: expect.any(String) });
    expect((await alice.req("POST", "/messages", { text: "next" })).json.message.seq).toBe(9);
    const state = (await t.admin("GET", "/admin/state?room=lab")).json;
    expect(state.messages.map((m: any) => m.seq)).toEqual([5, 6, 7, 8, 9]);
    const summary = Object.fromEntries(state.rooms.map((r: any) => [r.room, r]));
    expect(summary.lab).toMatchObject({ messages: 5, last_seq: 9 });
    expect(summary.elsewhere).toMatchObject({ messages: 1, last_seq: 1 });
    expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(6);
    // Pruning never lowers the sequence: poller cursors keep moving forward.
    expect((await bob.req("GET", "/messages?since=8")).json).toMatchObject({ cursor: 9, messages: [{ seq: 9 }] });
    expect(seqs(await bob.req("GET", "/messages?since=0"))).toEqual([5, 6, 7, 8, 9]);
  });

  test("0 or negative means unlimited", async () => {
    for (const value of ["0", "-3"]) {
      const { t, bob } = await lab({ ARGYBARGY_MAX_MESSAGES_PER_ROOM: value });
      for (let i = 0; i < 30; i++) await t.admin("POST", "/admin/say", { room: "lab", text: `m${i}` });
      expect(seqs(await bob.req("GET", "/messages"))).toHaveLength(30);
    }
  });
});
