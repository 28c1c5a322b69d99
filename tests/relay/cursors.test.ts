import { expect, test } from "bun:test";
import { join } from "node:path";
import { LocalBus } from "../../src/relay/bus.ts";
import { Relay } from "../../src/relay/relay.ts";
import type { Agent } from "../../src/relay/types.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ADMIN_TOKEN, newTestRelay, tempDir, testConfig, TestClock, AGENT_POST } from "../helpers.ts";

const reader: Agent = { name: "reader", room: "r", capabilities: "" };
const say = (relay: Relay, text: string, to = "all") =>
  relay.commit({ room: "r", from: "writer", to, text, expectsReply: "none" }, AGENT_POST);

test("next() hands out every visible message once, in order, without a cursor from the caller", async () => {
  const { relay, store } = newTestRelay();
  await say(relay, "one");
  await say(relay, "private", "someone-else");
  await say(relay, "two");
  const first = await relay.next(reader, 0);
  expect(first!.messages.map((m) => m.text)).toEqual(["one", "two"]);
  expect((await store.getCursor("r", "reader")).deliveredSeq).toBe(3);
  const empty = await relay.next(reader, 0);
  expect(empty!.messages).toEqual([]);
  await say(relay, "three");
  expect((await relay.next(reader, 0))!.messages.map((m) => m.text)).toEqual(["three"]);
});

test("a parked next() wakes on a post; a newer next() of the same agent ends the older one", async () => {
  const { relay } = newTestRelay();
  const parked = relay.next(reader, 10);
  await Bun.sleep(20);
  const newer = relay.next(reader, 10);
  expect(await parked).toBeNull();
  await say(relay, "hello");
  expect((await newer)!.messages.map((m) => m.text)).toEqual(["hello"]);
  expect(relay.readers.count()).toBe(0);
});

test("the delivered position survives a restart and is shared by two processes without double delivery", async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    const open = () => new Relay({ store: SqliteStore.open(path), bus: new LocalBus(), clock: new TestClock(), limits: testConfig(), adminToken: ADMIN_TOKEN });
    const a = open();
    const b = open();
    for (let i = 1; i <= 50; i++) await say(a, `m${i}`);
    // Two readers of one agent in two "processes" race: each message goes to exactly one of them.
    const got: number[] = [];
    for (let round = 0; round < 20; round++) {
      const [x, y] = await Promise.all([a.next(reader, 0), b.next(reader, 0)]);
      got.push(...x!.messages.map((m) => m.seq), ...y!.messages.map((m) => m.seq));
    }
    expect(got.sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await a.store.close();
    const c = open();
    await say(c, "after restart");
    expect((await c.next(reader, 0))!.messages.map((m) => m.seq)).toEqual([51]);
    await b.store.close();
    await c.store.close();
  } finally {
    dir.cleanup();
  }
});

test("the read position only rises", async () => {
  const { store } = newTestRelay();
  await store.raiseRead("r", "reader", 5, 1000);
  await store.raiseRead("r", "reader", 3, 2000);
  expect(await store.getCursor("r", "reader")).toEqual({ deliveredSeq: 0, deliveredMs: null, readSeq: 5, readMs: 1000, seenSeq: 0, seenMs: null });
  expect(await store.listCursors("r")).toEqual([{ name: "reader", deliveredSeq: 0, deliveredMs: null, readSeq: 5, readMs: 1000, seenSeq: 0, seenMs: null }]);
});
