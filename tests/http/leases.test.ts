import { expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

// Issue 10 item 2: claims are leases. Expiry runs on the injected clock (the sweep, or lazily
// on the next claim); renew and release are the holder's; the holder's reply completes it.

const audit = async (t: ReturnType<typeof newTestApp>, action: string) =>
  (await t.admin("GET", "/admin/audit?limit=1000")).json.events.filter((e: any) => e.action === action).map((e: any) => `${e.actor} ${e.detail}`);

async function lab(env: Record<string, string> = {}) {
  const t = newTestApp({ ARGYBARGY_MAX_WAIT: "10", ARGYBARGY_RATE_MAX: "0", ...env });
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  const carol = await t.invite("carol", "lab");
  const q = (await alice.req("POST", "/messages", { text: "who can review PR 12?", expects_reply: "anyone" })).json.message.seq as number;
  return { t, alice, bob, carol, q };
}

test("a claim is a lease of ttl_s; out-of-range ttl_s is 422; a bodyless 1.0 claim gets the default", async () => {
  const { t, bob, carol, q } = await lab({ ARGYBARGY_CLAIM_TTL: "30" });
  for (const ttl of [9, 86_401, 1.5, "60", -1]) {
    const r = await bob.req("POST", `/messages/${q}/claim`, { ttl_s: ttl });
    expect({ ttl, status: r.status, error: r.json.error, field: r.json.field }).toEqual({ ttl, status: 422, error: "invalid", field: "ttl_s" });
  }
  const before = t.clock.now();
  const won = await bob.req("POST", `/messages/${q}/claim`);
  expect(won.status).toBe(200);
  const until = Date.parse(won.json.claim_expires_at);
  expect(until - before).toBeGreaterThanOrEqual(30_000);
  expect(until - before).toBeLessThan(31_000);
  // Everybody sees the holder and when its lease ends.
  const seen = (await carol.req("GET", "/history")).json.messages.find((m: any) => m.seq === q);
  expect(seen).toMatchObject({ claimed_by: "bob", claim_expires_at: won.json.claim_expires_at });
  const lost = await carol.req("POST", `/messages/${q}/claim`, { ttl_s: 60 });
  expect(lost.json).toMatchObject({ error: "already_claimed", claimed_by: "bob", claim_expires_at: won.json.claim_expires_at });
});

test("renew is the holder's only; an expired lease reopens the question, wakes parked polls and returns to the inbox", async () => {
  const { t, bob, carol, q } = await lab();
  expect((await bob.req("POST", `/messages/${q}/claim`, { ttl_s: 60 })).status).toBe(200);
  const notHolder = await carol.req("POST", `/messages/${q}/claim/renew`, { ttl_s: 60 });
  expect({ status: notHolder.status, error: notHolder.json.error, claimed_by: notHolder.json.claimed_by }).toEqual({ status: 409, error: "not_holder", claimed_by: "bob" });
  expect((await carol.req("POST", `/messages/${q}/claim/release`)).json.error).toBe("not_holder");
  expect((await bob.req("POST", `/messages/${q}/claim/renew`, { ttl_s: 5 })).status).toBe(422);
  t.clock.advance(50_000);
  const renewed = await bob.req("POST", `/messages/${q}/claim/renew`, { ttl_s: 120 });
  expect(renewed.json).toMatchObject({ ok: true, seq: q, claimed_by: "bob" });
  t.clock.advance(100_000); // past the first lease's end, not the renewed one
  await t.relay.sweep();
  expect((await carol.req("POST", `/messages/${q}/claim`)).status).toBe(409);

  // Carol parks; the lease runs out; the sweep reopens it and her poll answers with it.
  const cursor = (await carol.req("GET", "/messages?since=0")).json.cursor;
  const feed = (await t.admin("GET", "/admin/changes")).json.cursor;
  const parked = carol.req("GET", `/messages?since=${cursor}&wait=10`);
  for (let i = 0; t.relay.waiters.count() < 1 && i < 200; i++) await Bun.sleep(5);
  t.clock.advance(21_000);
  await t.relay.sweep();
  const woke = await parked;
  expect(woke.json).toMatchObject({ messages: [], reopened: [{ seq: q, was: "bob", why: "expired" }] });
  expect(await audit(t, "claim_expired")).toEqual([`bob seq=${q}`]);
  expect((await t.admin("GET", `/admin/changes?since=${feed}`)).json).toMatchObject({ changed: true, rooms: ["lab"] });
  const state = (await t.admin("GET", "/admin/state")).json;
  expect(state.waiting.find((m: any) => m.seq === q)).toMatchObject({ claimed_by: null, claim_expires_at: null, claim_note: "claim expired (was: bob)" });
  // The old holder can no longer renew; anyone may take it now.
  expect((await bob.req("POST", `/messages/${q}/claim/renew`)).json.error).toBe("not_holder");
  expect((await carol.req("POST", `/messages/${q}/claim`)).json).toMatchObject({ won: true, claimed_by: "carol" });
  expect(t.errors).toEqual([]);
});

test("release reopens at once; an expired lease is also noticed lazily by the next claim", async () => {
  const { t, bob, carol, q } = await lab();
  await bob.req("POST", `/messages/${q}/claim`, { ttl_s: 10 });
  expect((await bob.req("POST", `/messages/${q}/claim/release`)).json).toEqual({ ok: true, seq: q });
  expect(await audit(t, "claim_released")).toEqual([`bob seq=${q}`]);
  expect((await t.admin("GET", "/admin/state")).json.waiting.find((m: any) => m.seq === q).claim_note).toBe("claim released (was: bob)");
  expect((await carol.req("POST", `/messages/${q}/claim`, { ttl_s: 10 })).json.claimed_by).toBe("carol");
  t.clock.advance(11_000); // no sweep: the next claim finds the lease over
  expect((await bob.req("POST", `/messages/${q}/claim`)).json).toMatchObject({ won: true, claimed_by: "bob" });
  expect(await audit(t, "claim_expired")).toEqual([`carol seq=${q}`]);
});

test("the holder's reply completes the lease: reply_to = seq, or a DM to the asker", async () => {
  const { t, alice, bob, carol, q } = await lab();
  await bob.req("POST", `/messages/${q}/claim`, { ttl_s: 10 });
  await carol.req("POST", "/messages", { text: "unrelated chatter" });
  const reply = await bob.req("POST", "/messages", { text: "LGTM", reply_to: q });
  expect(reply.json.message).toMatchObject({ reply_to: q, thread: q });
  const ask = (await alice.req("POST", "/messages", { text: "can someone rerun CI?", expects_reply: "anyone" })).json.message.seq;
  await carol.req("POST", `/messages/${ask}/claim`, { ttl_s: 10 });
  await carol.req("POST", "/messages", { text: "rerun, green now", to: "alice" });
  t.clock.advance(60_000);
  await t.relay.sweep();
  const history = (await alice.req("GET", "/history")).json.messages;
  expect(history.find((m: any) => m.seq === q)).toMatchObject({ claimed_by: "bob", claim_expires_at: null });
  expect(history.find((m: any) => m.seq === ask)).toMatchObject({ claimed_by: "carol", claim_expires_at: null });
  expect(await audit(t, "claim_expired")).toEqual([]);
  const waiting = (await t.admin("GET", "/admin/state")).json.waiting.map((m: any) => m.seq);
  expect(waiting).not.toContain(q);
  expect(waiting).not.toContain(ask);
  // A completed claim has no lease to renew or release.
  expect((await bob.req("POST", `/messages/${q}/claim/renew`)).json.error).toBe("not_holder");
  expect((await bob.req("POST", "/messages/99/claim/release")).status).toBe(404);
});
