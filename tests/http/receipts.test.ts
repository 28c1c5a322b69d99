import { expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

// Issue 10 item 1: receipts are true. Delivered = a poll returned it; read = acked, or the
// recipient posted after receiving it; offline = neither. Members as of the post only.

const iso = (ms: number) => new Date(ms).toISOString();

test("delivered but never acked, acked with up_to, offline, and a later post that reads", async () => {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "0" });
  t.clock.freeze();
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  const carol = await t.invite("carol", "lab");
  await t.invite("dave", "lab"); // holds a code, never calls in
  t.clock.advance(1000);
  const sent = await alice.req("POST", "/messages", { text: "status, anyone?" });
  expect(sent.json.message.seq).toBe(1);
  t.clock.advance(1000);
  await t.invite("erin", "lab"); // joined after the post: not a recipient of it

  t.clock.advance(1000);
  const bobAt = t.clock.now();
  expect((await bob.req("GET", "/messages?since=0")).json.messages.map((m: any) => m.seq)).toEqual([1]);
  // The batched write of that delivery reaches the operator's change feed (the dashboard's ticks refresh on it).
  const feed = (await t.admin("GET", "/admin/changes")).json.cursor;
  await t.relay.flushReceipts();
  expect((await t.admin("GET", `/admin/changes?since=${feed}`)).json).toMatchObject({ changed: true, rooms: ["lab"] });
  t.clock.advance(1000);
  const carolAt = t.clock.now();
  await carol.req("GET", "/messages?since=0");
  t.clock.advance(1000);
  const ackAt = t.clock.now();
  expect((await carol.req("POST", "/messages/ack", { up_to: 1 })).json).toMatchObject({ ok: true, read_seq: 1 });

  const r = await alice.req("GET", "/messages/1/receipts");
  expect(r.status).toBe(200);
  expect(r.json).toEqual({
    seq: 1,
    receipts: [
      { name: "bob", delivered_at: iso(bobAt), read_at: null },
      { name: "carol", delivered_at: iso(carolAt), read_at: iso(ackAt) },
      { name: "dave", delivered_at: null, read_at: null },
    ],
  });
  // The sender's history counts readers on its own messages only.
  let history = (await alice.req("GET", "/history")).json.messages;
  expect(history.map((m: any) => [m.seq, m.seen_by])).toEqual([[1, 1]]);

  // Bob answers: a post reads everything delivered to him before it.
  t.clock.advance(1000);
  const postAt = t.clock.now();
  await bob.req("POST", "/messages", { text: "green" });
  const after = (await alice.req("GET", "/messages/1/receipts")).json.receipts;
  expect(after[0]).toEqual({ name: "bob", delivered_at: iso(bobAt), read_at: iso(postAt) });
  history = (await alice.req("GET", "/history")).json.messages;
  expect(history.map((m: any) => [m.seq, m.from, m.seen_by])).toEqual([[1, "alice", 2], [2, "bob", null]]);

  // The operator sees counts and names for every message, and the full receipts of any.
  const state = (await t.admin("GET", "/admin/state?room=lab")).json;
  expect(state.messages[0].receipts).toEqual({ recipients: 3, delivered: 2, read: 2, delivered_to: ["bob", "carol"], read_by: ["bob", "carol"] });
  // Bob's answer is for alice, carol, dave (members before it) and erin (code holder at the time); nobody polled since.
  expect(state.messages[1].receipts).toEqual({ recipients: 4, delivered: 0, read: 0, delivered_to: [], read_by: [] });
  const admin = await t.admin("GET", "/admin/messages/lab/1/receipts");
  expect(admin.json).toEqual({ room: "lab", seq: 1, receipts: after });
  expect((await t.admin("GET", "/admin/messages/lab/99/receipts")).status).toBe(404);
  expect(t.errors).toEqual([]);
});

test("a DM has one recipient; others cannot read its receipts; bad seqs are clear 4xx", async () => {
  const t = newTestApp();
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  const carol = await t.invite("carol", "lab");
  await alice.req("POST", "/messages", { text: "psst", to: "bob" });
  await bob.req("GET", "/messages?since=0");
  expect((await bob.req("GET", "/messages/1/receipts")).json.receipts).toEqual([{ name: "bob", delivered_at: expect.any(String), read_at: null }]);
  expect((await carol.req("GET", "/messages/1/receipts")).json.error).toBe("not_found");
  expect((await alice.req("GET", "/messages/7/receipts")).status).toBe(404);
  const bad = await alice.req("GET", "/messages/x/receipts");
  expect({ status: bad.status, error: bad.json.error, field: bad.json.field }).toEqual({ status: 422, error: "invalid", field: "seq" });
  // Acking a seq the room does not have yet is refused, and reads nothing.
  expect((await bob.req("POST", "/messages/ack", { up_to: 2 })).status).toBe(422);
  expect((await alice.req("GET", "/messages/1/receipts")).json.receipts[0].read_at).toBeNull();
  expect(t.errors).toEqual([]);
});

test("the position endpoint and the ack still answer as before; a read counts as delivered", async () => {
  const t = newTestApp();
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  await alice.req("POST", "/messages", { text: "one" });
  // Bob read it elsewhere (history) and acks without any poll: delivered no later than read.
  await bob.req("GET", "/history");
  await bob.req("POST", "/messages/ack", { up_to: 1 });
  const [r] = (await alice.req("GET", "/messages/1/receipts")).json.receipts;
  expect(r.read_at).not.toBeNull();
  expect(r.delivered_at).toBe(r.read_at);
  expect((await bob.req("GET", "/messages/position")).json).toMatchObject({ read_seq: 1, delivered_seq: 0 });
});

test("a delivery and an ack each wake a parked operator change feed, so the dashboard's ticks move", async () => {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "0" });
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  await bob.req("GET", "/messages?since=0"); // bob is online before anything is sent
  await alice.req("POST", "/messages", { text: "ready?" });
  await t.relay.flushReceipts();
  const cursorOf = async () => (await t.admin("GET", "/admin/changes?since=0")).json.cursor as number;

  const before = await cursorOf();
  const parked = t.admin("GET", `/admin/changes?since=${before}&wait=10`);
  expect((await bob.req("GET", "/messages?since=0")).json.messages.map((m: any) => m.seq)).toEqual([1]);
  await t.relay.flushReceipts();
  const woke = (await parked).json;
  expect(woke).toMatchObject({ changed: true, rooms: ["lab"] });
  expect((await t.admin("GET", "/admin/state?room=lab")).json.messages[0].receipts).toMatchObject({ delivered: 1, read: 0 });

  const parkedAgain = t.admin("GET", `/admin/changes?since=${woke.cursor}&wait=10`);
  await bob.req("POST", "/messages/ack", { up_to: 1 });
  expect((await parkedAgain).json).toMatchObject({ changed: true, rooms: ["lab"] });
  expect((await t.admin("GET", "/admin/state?room=lab")).json.messages[0].receipts).toMatchObject({ delivered: 1, read: 1, read_by: ["bob"] });
});
