import { expect, test } from "bun:test";
import { newTestRelay } from "../helpers.ts";
import type { Agent } from "../../src/relay/types.ts";
import type { SqliteStore } from "../../src/store/sqlite.ts";

// Issue 10: a broadcast to 1,000 parked agents writes no receipt row while it wakes them; one
// batched write records every delivery; the receipts sum exactly.

test("a broadcast to 1,000 parked agents: no write in the wake path, one batch after, receipts sum exactly", async () => {
  const { relay, operator, store } = newTestRelay();
  const agents: Agent[] = [];
  for (let i = 0; i < 1000; i++) {
    const name = `a${String(i).padStart(4, "0")}`;
    await operator.invite({ name, room: "big" }, "http://localhost");
    agents.push({ name, room: "big", capabilities: "" });
  }
  // This file runs on SQLite (the store contract suite covers receipt marks on both stores).
  const marks = () => ((store as SqliteStore).db.query("SELECT count(*) AS n FROM receipt_marks").get() as { n: number }).n;
  const parked = agents.map((a) => relay.read(a, 0, 20));
  for (let i = 0; relay.waiters.count() < 1000 && i < 500; i++) await Bun.sleep(10);
  expect(relay.waiters.count()).toBe(1000);

  const m = await operator.say({ room: "big", text: "all hands" });
  const answers = await Promise.all(parked);
  expect(answers.every((r) => r!.messages.length === 1 && r!.messages[0]!.seq === m.seq)).toBe(true);
  expect(marks()).toBe(0); // nothing written while the 1,000 polls were answered

  for (const a of agents.slice(0, 400)) await relay.ack(a, { up_to: m.seq });
  await relay.flushReceipts();
  expect(marks()).toBe(1000 + 400); // one delivered mark per answer, one read mark per ack

  const receipts = await relay.receiptViews.ofMessage(m);
  expect(receipts).toHaveLength(1000);
  expect(receipts.filter((r) => r.deliveredMs !== null)).toHaveLength(1000);
  expect(receipts.filter((r) => r.readMs !== null).map((r) => r.name)).toEqual(agents.slice(0, 400).map((a) => a.name));
  const state = await operator.state("big", null);
  expect(state.messages.at(-1)!.receipts).toMatchObject({ recipients: 1000 });
  expect(state.messages.at(-1)!.receipts.delivered).toHaveLength(1000);
  expect(state.messages.at(-1)!.receipts.read).toHaveLength(400);
}, 60_000);

test("a second answer covering the same seq writes no second mark; the first time stays", async () => {
  const { relay, clock, operator, store } = newTestRelay();
  await operator.invite({ name: "bob", room: "r" }, "http://localhost");
  const bob: Agent = { name: "bob", room: "r", capabilities: "" };
  const m = await operator.say({ room: "r", text: "one" });
  clock.freeze();
  const first = clock.now();
  await relay.read(bob, 0, 0);
  clock.advance(5000);
  await relay.read(bob, 0, 0); // a client that re-reads from 0 gets it again
  await relay.flushReceipts();
  expect((store as SqliteStore).db.query("SELECT seq, at FROM receipt_marks WHERE kind = 'delivered'").all()).toEqual([{ seq: m.seq, at: first }]);
  expect((await store.getCursor("r", "bob")).seenSeq).toBe(m.seq);
});

test("the stream and MCP wait count as delivery too: both read through the poll's answer path", async () => {
  const { relay, operator } = newTestRelay();
  for (const name of ["streamer", "waiter"]) await operator.invite({ name, room: "r" }, "http://localhost");
  const m = await operator.say({ room: "r", text: "hello both" });
  const ctl = new AbortController();
  const stream = relay.follow({ name: "streamer", room: "r", capabilities: "" }, 0, { idleMs: 60_000, signal: ctl.signal });
  const first = await stream.next();
  expect(first.value).toMatchObject({ kind: "message", message: { seq: m.seq } });
  ctl.abort();
  await stream.return(undefined);
  expect((await relay.next({ name: "waiter", room: "r", capabilities: "" }, 0))!.messages.map((x) => x.seq)).toEqual([m.seq]);
  const receipts = await relay.receiptViews.ofMessage(m);
  expect(receipts.map((r) => [r.name, r.deliveredMs !== null, r.readMs !== null])).toEqual([["streamer", true, false], ["waiter", true, false]]);
});
