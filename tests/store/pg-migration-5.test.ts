import { afterAll, expect, test } from "bun:test";
import type { InsertMessageInput } from "../../src/relay/types.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { INSERT_DEFAULTS } from "../helpers.ts";
import { freshSchemaUrl } from "../pg-cluster.ts";

const stores: PgStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

async function openStore(): Promise<PgStore> {
  const store = await PgStore.open(await freshSchemaUrl(), { max: 2 });
  stores.push(store);
  return store;
}

const post = (room: string, from: string, text: string, more: Partial<InsertMessageInput> = {}): InsertMessageInput => ({
  ...INSERT_DEFAULTS, room, from, to: "all", text, expectsReply: "none", nowMs: 1, refuseIfClosed: true, maxRooms: 0, retention: 0, ...more,
});

/** argy_post_plain called directly, as the store calls it: [o_i, o_seq] per post. */
async function plain(store: PgStore, rooms: string[]): Promise<[number, number | null][]> {
  const n = rooms.length;
  const rows = await store.sql`SELECT o_i, o_seq FROM argy_post_plain(${rooms}::text[], ${rooms.map(() => "a")}::text[],
    ${rooms.map(() => "all")}::text[], ${rooms.map((r) => `to ${r}`)}::text[], ${rooms.map(() => false)}::boolean[],
    ${rooms.map(() => "none")}::text[], ${rooms.map(() => 5)}::bigint[], ${rooms.map(() => 0)}::bigint[], ${rooms.map(() => 0)}::bigint[],
    ${rooms.map(() => false)}::boolean[], ${rooms.map(() => 0)}::bigint[], 0::bigint)`;
  expect(rows.length).toBe(n);
  const answers: [number, number | null][] = rows.map((r: { o_i: number; o_seq: string | null }) => [r.o_i, r.o_seq === null ? null : Number(r.o_seq)]);
  return answers.sort((x, y) => x[0] - y[0]);
}

test("argy_post_plain writes the rooms its fast path takes and leaves a closed room untouched, its posts unanswered", async () => {
  const store = await openStore();
  await store.setRoomStatus({ name: "shut", status: "closed", closedAtMs: 3, closedBy: "operator" });
  expect(await plain(store, ["open", "shut", "open"])).toEqual([[0, 1], [1, null], [2, 2]]);
  expect((await store.readTail("open", 10)).messages.map((m) => [m.seq, m.text])).toEqual([[1, "to open"], [2, "to open"]]);
  const shut = await store.readTail("shut", 10);
  expect([shut.messages, shut.highSeq, shut.lastTsMs]).toEqual([[], 0, null]);
});

test("one group commit mixing a plain room with a closed one: each post its own answer, the operator's post lands in the closed room", async () => {
  const store = await openStore();
  await store.setRoomStatus({ name: "shut", status: "closed", closedAtMs: 3, closedBy: "operator" });
  const results = await Promise.all([
    store.insertMessage(post("open", "a", "one")),
    store.insertMessage(post("shut", "a", "refused")),
    store.insertMessage(post("shut", "operator", "still heard", { refuseIfClosed: false, byOperator: true })),
    store.insertMessage(post("open", "b", "two")),
  ]);
  expect(results.map((r) => (r.ok ? [r.message.room, r.message.seq, r.message.text] : r.reason))).toEqual([
    ["open", 1, "one"], "room_closed", ["shut", 1, "still heard"], ["open", 2, "two"],
  ]);
  expect((await store.readTail("shut", 10)).messages.map((m) => m.text)).toEqual(["still heard"]);
});

test("a plain batch that would cross the loop guard goes post by post: the run pauses exactly at the limit", async () => {
  const store = await openStore();
  const guarded = (i: number) => store.insertMessage(post("r", `agent-${i % 2}`, `post ${i}`, { loopGuard: 3 }));
  const results = await Promise.all([0, 1, 2, 3, 4].map(guarded));
  expect(results.map((r) => (r.ok ? r.agentRun : r.reason))).toEqual([1, 2, 3, "room_paused", "room_paused"]);
  expect((await store.readTail("r", 10)).highSeq).toBe(3);
});

test("when the second transaction fails, the posts the first committed are answered as committed, only the others fail", async () => {
  const store = await openStore();
  await store.setRoomStatus({ name: "shut", status: "closed", closedAtMs: 3, closedBy: "operator" });
  // The database goes away between the two transactions (as a restart would): argy_post, not argy_post_plain, fails.
  (store as unknown as { messages: { insertGeneral: () => Promise<never> } }).messages.insertGeneral = () => Promise.reject(new Error("connection lost"));
  const [kept, lost] = await Promise.allSettled([store.insertMessage(post("open", "a", "committed")), store.insertMessage(post("shut", "a", "refused"))]);
  expect(kept.status === "fulfilled" && kept.value.ok && [kept.value.message.seq, kept.value.message.text]).toEqual([1, "committed"]);
  expect(lost.status === "rejected" && (lost.reason as Error).message).toBe("connection lost");
  expect((await store.readTail("open", 10)).messages.map((m) => m.text)).toEqual(["committed"]);
});
