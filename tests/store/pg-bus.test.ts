import { SQL } from "bun";
import { expect, test } from "bun:test";
import type { Agent } from "../../src/relay/types.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { AGENT_POST, INSERT_DEFAULTS } from "../helpers.ts";
import { pgInstances } from "./pg-instances.ts";

// Two "instances" in one process: two pools, two LISTEN connections, one schema.

const pg = pgInstances({ ARGYBARGY_RATE_MAX: "0" });

/** A real PgStore that counts its tail reads (the query a woken poll makes when B's tail is dropped). */
class CountingStore extends PgStore {
  tailReads = 0;
  override readTail(room: string, limit: number) {
    this.tailReads++;
    return super.readTail(room, limit);
  }
}

async function instance() {
  const { store, bus, relay } = await pg.instance(async (url) => {
    const counting = new CountingStore(url, { max: 3 });
    await counting.ready;
    return counting;
  });
  const heard: [string | null, boolean][] = [];
  bus.subscribe((room, remote) => heard.push([room, remote]));
  return { store, bus, relay, heard };
}

const reader: Agent = { name: "reader", room: "r", capabilities: "" };
const until = async (cond: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !cond(); await Bun.sleep(10)) if (Date.now() > end) throw new Error("condition not met in time");
};

test("a post, a close and a claim on A wake and refresh B; A hears its own changes once, as local", async () => {
  const a = await instance();
  const b = await instance();
  const first = await b.relay.read(reader, 0, 0); // fills B's cached tail of r
  const parked = b.relay.read(reader, first!.cursor, 10);
  await a.relay.commit({ room: "r", from: "w", to: "all", text: "hello from A", expectsReply: "anyone" }, AGENT_POST);
  const answer = await parked;
  expect(answer!.messages.map((m) => m.text)).toEqual(["hello from A"]);
  expect(b.heard).toContainEqual(["r", true]);
  await Bun.sleep(100); // the echo of A's own NOTIFY has arrived by now
  expect(a.heard.filter(([room]) => room === "r")).toEqual([["r", false]]);

  // A claim on A is seen by B's next read (B's cached tail is dropped).
  const claimer: Agent = { name: "c1", room: "r", capabilities: "" };
  expect((await a.relay.claim(claimer, answer!.messages[0]!.seq)).won).toBe(true);
  await until(() => b.heard.filter(([r]) => r === "r").length >= 2);
  expect((await b.relay.read({ name: "other", room: "r", capabilities: "" }, 0, 0))!.messages[0]!.claimedBy).toBe("c1");

  // A close through A answers B's parked poll at once.
  const parked2 = b.relay.read(reader, answer!.cursor, 20);
  const started = performance.now();
  await a.relay.setRoomStatus({ name: "r", status: "closed", closedAtMs: Date.now(), closedBy: "operator" });
  expect((await parked2)!.room.status).toBe("closed");
  expect(performance.now() - started).toBeLessThan(3000);
});

test("after the LISTEN connection is killed, the bus re-LISTENs and wakes every waiter, so a change made meanwhile is not slept through", async () => {
  const a = await instance();
  const b = await instance();
  const room: Agent = { name: "reader", room: "gap", capabilities: "" };
  const parked = b.relay.read(room, 0, 30);
  await Bun.sleep(50);
  const admin = new SQL({ url: pg.url().replace(/\?.*$/, ""), max: 1 });
  try {
    const channel = await b.store.channel();
    // Kill B's listener (the backend that LISTENs on the channel and is not A's).
    const listeners = await admin`SELECT pid FROM pg_stat_activity WHERE query ILIKE ${`LISTEN%${channel}%`}`;
    expect(listeners.length).toBeGreaterThanOrEqual(2);
    const before = b.bus.listenCount;
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE ${`LISTEN%${channel}%`}`;
    // Written while the listeners are down: its NOTIFY reaches nobody.
    await a.store.insertMessage({ ...INSERT_DEFAULTS, room: "gap", from: "w", to: "all", text: "during the gap", expectsReply: "none", nowMs: Date.now(), refuseIfClosed: true, maxRooms: 0, retention: 0 });
    const answer = await parked;
    expect(answer!.messages.map((m) => m.text)).toEqual(["during the gap"]);
    expect(b.bus.listenCount).toBeGreaterThan(before);
    expect(b.heard).toContainEqual([null, true]);
  } finally {
    await admin.close();
  }
});

test("a post on A waking 200 polls parked on B makes B read the room's tail once, not once per poll, and every poll gets it", async () => {
  const a = await instance();
  const b = await instance();
  const readers: Agent[] = Array.from({ length: 200 }, (_, i) => ({ name: `reader-${i}`, room: "crowd", capabilities: "" }));
  const first = await b.relay.read(readers[0]!, 0, 0);
  const parked = readers.map((r) => b.relay.read(r, first!.cursor, 20));
  await Bun.sleep(100); // every poll is parked
  const before = b.store.tailReads;
  await a.relay.commit({ room: "crowd", from: "w", to: "all", text: "one for the crowd", expectsReply: "none" }, AGENT_POST);
  const answers = await Promise.all(parked);
  expect(answers.map((x) => x!.messages.map((m) => m.text))).toEqual(readers.map(() => ["one for the crowd"]));
  expect(b.store.tailReads - before).toBe(1);
});
