import { describe, expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

// SPEC §4.3–§4.6, §6.4, §6.5, §7.8, §7.9: rate limit, quotas, expiry, revocation.

const errorOf = (r: { status: number; json: any }) => ({ status: r.status, error: r.json?.error, ...(r.json?.quota ? { quota: r.json.quota } : {}) });

describe("rate limit (SPEC §7.8)", () => {
  test("RATE_MAX posts per sliding window; the next gets 429 with retry_after and Retry-After", async () => {
    const t = newTestApp({ ARGYBARGY_RATE_MAX: "3", ARGYBARGY_RATE_WINDOW: "10" });
    const alice = await t.invite("alice", "lab");
    const bob = await t.invite("bob", "lab");
    for (let i = 0; i < 3; i++) expect((await alice.req("POST", "/messages", { text: `m${i}` })).status).toBe(200);
    const limited = await alice.req("POST", "/messages", { text: "one too many" });
    expect(errorOf(limited)).toEqual({ status: 429, error: "rate_limited" });
    expect(Number.isInteger(limited.json.retry_after)).toBe(true);
    expect(limited.json.retry_after).toBeGreaterThanOrEqual(1);
    expect(limited.json.retry_after).toBeLessThanOrEqual(10);
    expect(limited.headers.get("retry-after")).toBe(String(limited.json.retry_after));
    // Half the window later the oldest entry frees in about 5 s.
    t.clock.advance(5000);
    const later = await alice.req("POST", "/messages", { text: "still too many" });
    expect(later.status).toBe(429);
    expect(later.json.retry_after).toBe(5);
    expect(later.headers.get("retry-after")).toBe("5");
    // Per agent, and only POST /messages: bob, reads, claims and /admin/say are untouched.
    expect((await bob.req("POST", "/messages", { text: "bob is fine", expects_reply: "anyone" })).status).toBe(200);
    expect((await alice.req("GET", "/messages")).status).toBe(200);
    expect((await alice.req("GET", "/history")).status).toBe(200);
    expect((await alice.req("POST", "/messages/4/claim")).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await t.admin("POST", "/admin/say", { room: "lab", sender: "alice", text: "say" })).status).toBe(200);
    // Refused attempts were not recorded: once the window passes, three more are accepted.
    t.clock.advance(5001);
    for (let i = 0; i < 3; i++) expect((await alice.req("POST", "/messages", { text: `again ${i}` })).status).toBe(200);
    expect((await alice.req("POST", "/messages", { text: "over" })).status).toBe(429);
    // Only accepted posts were stored: 3 + bob's 1 + 5 says + 3.
    expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(12);
    expect(t.errors).toEqual([]);
  });

  test("a post refused as room_closed or invalid does not use a rate slot", async () => {
    const t = newTestApp({ ARGYBARGY_RATE_MAX: "3", ARGYBARGY_RATE_WINDOW: "10" });
    const alice = await t.invite("alice", "lab");
    await t.admin("POST", "/admin/rooms/lab/close");
    for (let i = 0; i < 5; i++) {
      const r = await alice.req("POST", "/messages", { text: "closed" });
      expect(errorOf(r)).toEqual({ status: 409, error: "room_closed" });
      expect(r.json.closed_by).toBe("operator");
      expect(r.json.closed_at).toMatch(/Z$/);
      expect(r.json.message).toContain("operator");
      expect(r.json.message).toContain(r.json.closed_at);
    }
    for (let i = 0; i < 5; i++) expect((await alice.req("POST", "/messages", { text: "" })).status).toBe(422);
    await t.admin("POST", "/admin/rooms/lab/reopen");
    for (let i = 0; i < 3; i++) expect((await alice.req("POST", "/messages", { text: `m${i}` })).status).toBe(200);
    expect((await alice.req("POST", "/messages", { text: "over" })).status).toBe(429);
    // The closed check comes first: an agent over its rate in a closed room hears 409, not 429.
    await t.admin("POST", "/admin/rooms/lab/close", { by: "boss" });
    expect(errorOf(await alice.req("POST", "/messages", { text: "closed and over" }))).toEqual({ status: 409, error: "room_closed" });
  });

  test("RATE_MAX=0 or RATE_WINDOW=0 disables it", async () => {
    for (const env of [{ ARGYBARGY_RATE_MAX: "0" }, { ARGYBARGY_RATE_WINDOW: "0" }] as Record<string, string>[]) {
      const t = newTestApp(env);
      const alice = await t.invite("alice", "lab");
      for (let i = 0; i < 25; i++) expect((await alice.req("POST", "/messages", { text: `m${i}` })).status).toBe(200);
    }
  });
});

describe("quotas (SPEC §7.9)", () => {
  test("MAX_ROOMS: an agent's first message in a new room is refused; /admin/say bypasses; codes do not count", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_ROOMS: "1", ARGYBARGY_RATE_MAX: "2" });
    const alice = await t.invite("alice", "one");
    const bob = await t.invite("bob", "two");
    await t.invite("carol", "three"); // a room with only a code does not count
    expect((await alice.req("POST", "/messages", { text: "first room" })).status).toBe(200);
    const refused = await bob.req("POST", "/messages", { text: "second room" });
    expect(errorOf(refused)).toEqual({ status: 403, error: "forbidden", quota: "rooms" });
    expect((await t.admin("GET", "/admin/stats")).json).toMatchObject({ messages: 1, rooms: 1 });
    // The rate slot is already spent by the refused post (rate is checked before the quota).
    expect(errorOf(await bob.req("POST", "/messages", { text: "again" }))).toEqual({ status: 403, error: "forbidden", quota: "rooms" });
    expect(errorOf(await bob.req("POST", "/messages", { text: "third" }))).toEqual({ status: 429, error: "rate_limited" });
    // The operator may start a room; after that the room has messages and bob may post.
    expect((await t.admin("POST", "/admin/say", { room: "two", text: "operator opens two" })).status).toBe(200);
    t.clock.advance(11_000);
    expect((await bob.req("POST", "/messages", { text: "now it works" })).json.message.seq).toBe(2);
    expect((await alice.req("POST", "/messages", { text: "old room still fine" })).status).toBe(200);
  });

  test("MAX_CODES counts stored rows (expired too) for API invites; order 422 → 403 → 400 → 409", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_CODES: "2" });
    expect((await t.admin("POST", "/admin/invite", { name: "alice", room: "lab" })).status).toBe(200);
    expect((await t.admin("POST", "/admin/invite", { name: "gone", room: "lab", expires: "0m" })).status).toBe(200);
    const full = await t.admin("POST", "/admin/invite", { name: "bob", room: "lab" });
    expect(errorOf(full)).toEqual({ status: 403, error: "forbidden", quota: "codes" });
    expect(errorOf(await t.admin("POST", "/admin/invite", { name: "Operator" }))).toEqual({ status: 422, error: "invalid" });
    expect(errorOf(await t.admin("POST", "/admin/invite", { name: "bob", expires: "bogus" }))).toEqual({ status: 403, error: "forbidden", quota: "codes" });
    expect(errorOf(await t.admin("POST", "/admin/invite", { name: "alice", room: "lab" }))).toEqual({ status: 403, error: "forbidden", quota: "codes" });
    expect((await t.admin("GET", "/admin/stats")).json.codes).toBe(2);
    expect((await t.admin("POST", "/admin/revoke", { target: "gone" })).json).toEqual({ revoked: 1 });
    expect(errorOf(await t.admin("POST", "/admin/invite", { name: "bob", expires: "bogus" }))).toEqual({ status: 400, error: "bad_request" });
    expect(errorOf(await t.admin("POST", "/admin/invite", { name: "alice", room: "lab" }))).toEqual({ status: 409, error: "name_taken" });
    expect((await t.admin("POST", "/admin/invite", { name: "bob", room: "lab" })).status).toBe(200);
  });
});

test("quotas and name checks hold under concurrency (checked atomically with the insert)", async () => {
  const rooms = newTestApp({ ARGYBARGY_MAX_ROOMS: "1" });
  const agents = await Promise.all(Array.from({ length: 10 }, (_, i) => rooms.invite(`a${i}`, `room-${i}`)));
  const posts = await Promise.all(agents.map((a) => a.req("POST", "/messages", { text: "first!" })));
  expect(posts.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(403)]);
  expect((await rooms.admin("GET", "/admin/stats")).json).toMatchObject({ rooms: 1, messages: 1 });

  const codes = newTestApp({ ARGYBARGY_MAX_CODES: "3" });
  const invites = await Promise.all(Array.from({ length: 12 }, (_, i) => codes.admin("POST", "/admin/invite", { name: `n${i}` })));
  expect(invites.filter((r) => r.status === 200)).toHaveLength(3);
  expect(invites.filter((r) => r.status === 403).every((r) => r.json.quota === "codes")).toBe(true);
  expect((await codes.admin("GET", "/admin/stats")).json.codes).toBe(3);

  const names = newTestApp();
  const same = await Promise.all(Array.from({ length: 12 }, () => names.admin("POST", "/admin/invite", { name: "solo", room: "lab" })));
  expect(same.map((r) => r.status).sort()).toEqual([200, ...Array(11).fill(409)]);
});

describe("expiry (SPEC §4.3, §4.4)", () => {
  test("0m is dead at once; a 10m code fails on the very next request after its deadline", async () => {
    const t = newTestApp();
    const zero = await t.admin("POST", "/admin/invite", { name: "zero", expires: "0.0" });
    expect(zero.json.expires).not.toBeNull();
    expect((await t.asAgent(zero.json.code).req("GET", "/whoami")).status).toBe(401);
    await t.admin("POST", "/admin/revoke", { target: "zero" });
    const dead = await t.admin("POST", "/admin/invite", { name: "dead", expires: "0m" });
    expect(dead.status).toBe(200);
    expect(Date.parse(dead.json.expires)).toBeLessThanOrEqual(t.clock.now());
    expect((await t.asAgent(dead.json.code).req("GET", "/whoami")).status).toBe(401);

    const ten = await t.admin("POST", "/admin/invite", { name: "ten", room: "lab", expires: " 10M " });
    const created = t.clock.now();
    expect(Date.parse(ten.json.expires) - created).toBeGreaterThan(10 * 60_000 - 1000);
    expect(Date.parse(ten.json.expires) - created).toBeLessThanOrEqual(10 * 60_000);
    const agent = t.asAgent(ten.json.code);
    t.clock.advance(9 * 60_000 + 50_000);
    expect((await agent.req("GET", "/whoami")).status).toBe(200);
    t.clock.advance(11_000);
    const expired = await agent.req("GET", "/messages");
    expect(errorOf(expired)).toEqual({ status: 401, error: "unauthorized" });
    // Expired rows stay listed and counted, but no longer block the name.
    expect((await t.admin("GET", "/admin/stats")).json.codes).toBe(2);
    const again = await t.admin("POST", "/admin/invite", { name: "ten", room: "lab" });
    expect(again.status).toBe(200);
    expect((await t.asAgent(again.json.code).req("GET", "/whoami")).json).toEqual({ name: "ten", room: "lab", capabilities: "" });
    // An expired name is no longer a member.
    const r = await t.asAgent(again.json.code).req("POST", "/messages", { text: "x", to: "dead" });
    expect(r.json).toMatchObject({ error: "unknown_recipient", members: ["operator", "ten"] });
  });

  test("expired codes count until purged 7 days after their expiry", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_CODES: "2" });
    await t.admin("POST", "/admin/invite", { name: "old", expires: "1d" });
    await t.admin("POST", "/admin/invite", { name: "young", expires: "3d" });
    t.clock.advance(8 * 86_400_000 + 60_000); // old expired 7 days and a minute ago, young 5 days ago
    expect((await t.admin("POST", "/admin/invite", { name: "new" })).json.quota).toBe("codes");
    expect(await t.relay.purgeExpiredCodes()).toBe(1);
    expect((await t.admin("GET", "/admin/state")).json.codes.map((c: any) => c.name)).toEqual(["young"]);
    expect((await t.admin("POST", "/admin/invite", { name: "new" })).status).toBe(200);
  });

  test("the grammar: units, bare numbers as hours, never", async () => {
    const t = newTestApp();
    const cases: [string | null, number | null][] = [
      [null, null], ["", null], ["never", null], [" NONE ", null], ["0", null],
      ["2", 2 * 3600_000], ["1.5 hours", 90 * 60_000], ["30 mins", 30 * 60_000], ["1d", 86_400_000],
      ["1w", 7 * 86_400_000], ["1mo", 30 * 86_400_000], ["2 weeks", 14 * 86_400_000], ["3hrs", 3 * 3600_000],
    ];
    for (const [i, [expires, ms]] of cases.entries()) {
      const before = t.clock.now();
      const r = await t.admin("POST", "/admin/invite", { name: `a${i}`, expires });
      const after = t.clock.now();
      expect({ expires, status: r.status }).toEqual({ expires, status: 200 });
      if (ms === null) expect({ expires, got: r.json.expires }).toEqual({ expires, got: null });
      else {
        const got = Date.parse(r.json.expires);
        expect(got).toBeGreaterThanOrEqual(before + ms - 1);
        expect(got).toBeLessThanOrEqual(after + ms + 1);
      }
    }
  });
});

describe("revocation (SPEC §4.6, §6.5)", () => {
  test("by name: the next request is 401; within a room only that room; without a room every room", async () => {
    const t = newTestApp();
    const labAlice = await t.invite("alice", "lab");
    const otherAlice = await t.invite("alice", "other");
    const thirdAlice = await t.invite("alice", "third");
    expect((await labAlice.req("GET", "/whoami")).status).toBe(200);
    expect((await t.admin("POST", "/admin/revoke", { target: "alice", room: "lab" })).json).toEqual({ revoked: 1 });
    expect((await labAlice.req("GET", "/whoami")).status).toBe(401);
    expect((await otherAlice.req("GET", "/whoami")).status).toBe(200);
    expect((await t.admin("POST", "/admin/revoke", { target: "alice" })).json).toEqual({ revoked: 2 });
    expect((await otherAlice.req("GET", "/whoami")).status).toBe(401);
    expect((await thirdAlice.req("GET", "/whoami")).status).toBe(401);
    expect((await t.admin("POST", "/admin/revoke", { target: "nobody" })).json).toEqual({ revoked: 0 });
    const audit = (await t.admin("GET", "/admin/audit")).json.events.filter((e: any) => e.action === "revoke");
    expect(audit.map((e: any) => [e.actor, e.room, e.detail])).toEqual([
      ["admin", "lab", "alice (1)"], ["admin", "", "alice (2)"], ["admin", "", "nobody (0)"],
    ]);
  });

  test("by code value: masked in the audit; limited to the room when given", async () => {
    const t = newTestApp();
    const alice = await t.invite("alice", "lab");
    const bob = await t.invite("bob", "lab");
    const masked = `${alice.code.slice(0, 4)}…${alice.code.slice(-4)}`;
    expect((await t.admin("POST", "/admin/revoke", { target: alice.code, room: "other" })).json).toEqual({ revoked: 0 });
    expect((await alice.req("GET", "/whoami")).status).toBe(200);
    expect((await t.admin("POST", "/admin/revoke", { target: alice.code })).json).toEqual({ revoked: 1 });
    expect((await alice.req("GET", "/whoami")).status).toBe(401);
    expect((await bob.req("GET", "/whoami")).status).toBe(200);
    const audit = await t.admin("GET", "/admin/audit");
    expect(audit.text).not.toContain(alice.code);
    const revokes = audit.json.events.filter((e: any) => e.action === "revoke");
    expect(revokes.map((e: any) => [e.room, e.detail])).toEqual([["other", `${masked} (0)`], ["", `${masked} (1)`]]);
    // The stored hash itself never authenticates, nor revokes.
    const hash = new Bun.CryptoHasher("sha256").update(bob.code).digest("hex");
    expect((await t.asAgent(hash).req("GET", "/whoami")).status).toBe(401);
    expect((await t.admin("POST", "/admin/revoke", { target: hash })).json).toEqual({ revoked: 0 });
  });

  test("name_taken while active; re-invite after revoke works and the old code stays dead", async () => {
    const t = newTestApp();
    const first = await t.invite("alice", "lab");
    const taken = await t.admin("POST", "/admin/invite", { name: "alice", room: "lab" });
    expect(taken.json).toMatchObject({ error: "name_taken", field: "name" });
    expect(taken.status).toBe(409);
    expect((await t.admin("POST", "/admin/invite", { name: "alice", room: "elsewhere" })).status).toBe(200);
    expect((await t.admin("POST", "/admin/invite", { name: "Alice", room: "lab" })).status).toBe(200);
    await t.admin("POST", "/admin/revoke", { target: "alice", room: "lab" });
    const second = await t.invite("alice", "lab");
    expect(second.code).not.toBe(first.code);
    expect((await second.req("GET", "/whoami")).status).toBe(200);
    expect((await first.req("GET", "/whoami")).status).toBe(401);
  });
});
