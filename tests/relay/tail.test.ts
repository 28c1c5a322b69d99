import { describe, expect, test } from "bun:test";
import { Relay } from "../../src/relay/relay.ts";
import { RoomTails, TAIL_LENGTH } from "../../src/relay/tail.ts";
import type { Bus } from "../../src/relay/ports.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ADMIN_TOKEN, AGENT_POST, INSERT_DEFAULTS, newTestStore, TestClock, testConfig } from "../helpers.ts";

const NAMES = ["ann", "bob", "cyd", "dee"];

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
}

for (const retention of [0, 7, 300]) {
  test(`the in-memory tail answers exactly what the database answers (retention ${retention || "unlimited"})`, async () => {
    const store = SqliteStore.open(":memory:");
    const tails = new RoomTails();
    const rand = rng(42 + retention);
    const pick = () => NAMES[Math.floor(rand() * NAMES.length)]!;
    tails.fill("r", await store.readTail("r", TAIL_LENGTH), tails.version("r"));
    let compared = 0;
    for (let i = 1; i <= 700; i++) {
      const from = pick();
      const to = rand() < 0.3 ? pick() : "all";
      const r = await store.insertMessage({ ...INSERT_DEFAULTS, room: "r", from, to, text: `m${i}`, expectsReply: "none", nowMs: i, refuseIfClosed: true, maxRooms: 0, retention });
      if (!r.ok) throw new Error("insert refused");
      tails.append(r.message, retention, 0);
      if (rand() < 0.1) {
        const seq = Math.max(1, i - Math.floor(rand() * 20));
        const holder = await store.claimMessage("r", seq, pick(), null);
        if (holder) tails.setClaim("r", seq, holder, null);
      }
      if (i % 35 === 0) {
        for (const viewer of NAMES) {
          for (const since of [0, i - 1, i - 10, i - 255, i - 300, i + 5].filter((s) => s >= 0)) {
            const fromMemory = tails.read("r", since, viewer);
            const fromDb = await store.readSince("r", since, viewer);
            if (fromMemory === null) {
              expect(since).toBeLessThan(i - TAIL_LENGTH + 1); // only a cursor older than the tail may miss
              continue;
            }
            expect(fromMemory.messages).toEqual(fromDb.messages);
            expect(fromMemory.highSeq).toBe(fromDb.highSeq);
            expect(fromMemory.lastTsMs).toBe(fromDb.lastTsMs);
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
}

test("a fill that read before a commit never installs the stale state", async () => {
  const store = SqliteStore.open(":memory:");
  const tails = new RoomTails();
  const version = tails.version("r");
  const stale = await store.readTail("r", TAIL_LENGTH);
  const r = await store.insertMessage({ ...INSERT_DEFAULTS, room: "r", from: "ann", to: "all", text: "x", expectsReply: "none", nowMs: 1, refuseIfClosed: true, maxRooms: 0, retention: 0 });
  if (r.ok) tails.append(r.message, 0, 0);
  tails.fill("r", stale, version);
  expect(tails.read("r", 0, "bob")).toBeNull();
});

test("a commit that skips seqs (another process wrote in between) drops the tail instead of hiding the gap; invalidateAll drops every room and refuses stale fills", async () => {
  const store = SqliteStore.open(":memory:");
  const tails = new RoomTails();
  const post = async (room: string, text: string) => {
    const r = await store.insertMessage({ room, from: "ann", to: "all", text, expectsReply: "none", nowMs: 1, refuseIfClosed: true, maxRooms: 0, retention: 0, ...INSERT_DEFAULTS });
    if (!r.ok) throw new Error("insert refused");
    return r.message;
  };
  for (const room of ["r", "s"]) {
    await post(room, "one");
    tails.fill(room, await store.readTail(room, TAIL_LENGTH), tails.version(room));
  }
  await post("r", "two, by another process"); // this process never sees it committed
  tails.append(await post("r", "three"), 0, 0);
  // Answering since=1 from memory would skip seq 2: the tail is gone, so the caller reads the store.
  expect(tails.read("r", 1, "bob")).toBeNull();
  expect((await store.readSince("r", 1, "bob")).messages.map((m) => m.seq)).toEqual([2, 3]);

  const version = tails.version("s");
  const snap = await store.readTail("s", TAIL_LENGTH);
  tails.invalidateAll();
  expect(tails.read("s", 0, "bob")).toBeNull();
  tails.fill("s", snap, version); // read before the invalidation: refused
  expect(tails.read("s", 0, "bob")).toBeNull();
  await store.close();
});

/** A bus whose "another instance changed this room" the test sends, as PgBus does on a NOTIFY. */
class RemoteBus implements Bus {
  private readonly listeners = new Set<(room: string | null, remote: boolean) => void>();
  roomChanged(room: string): void {
    for (const l of this.listeners) l(room, false);
  }
  subscribe(listener: (room: string | null, remote: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  remote(room: string): void {
    for (const l of this.listeners) l(room, true);
  }
}

describe("polls woken on a cold tail", () => {
  test("a crowd woken by another instance's post shares one store read, and every poll gets the message", async () => {
    const store = newTestStore();
    let tailReads = 0;
    const readTail = store.readTail.bind(store);
    store.readTail = (room, limit) => {
      tailReads++;
      return readTail(room, limit);
    };
    const bus = new RemoteBus();
    const relay = new Relay({ store, bus, clock: new TestClock(), limits: testConfig(), adminToken: ADMIN_TOKEN });
    try {
      await relay.commit({ room: "r", from: "ann", to: "all", text: "first", expectsReply: "none" }, AGENT_POST);
      const polls = Array.from({ length: 300 }, (_, i) => relay.read({ room: "r", name: `p${i}`, capabilities: "" }, 1, 30));
      await Bun.sleep(50);
      // "Another instance" commits straight into the store; this one only hears the notification.
      const other = await store.insertMessage({ ...INSERT_DEFAULTS, room: "r", from: "ann", to: "all", text: "from A", expectsReply: "none", nowMs: 2, refuseIfClosed: true, maxRooms: 0, retention: 0 });
      expect(other.ok).toBe(true);
      const before = tailReads;
      bus.remote("r");
      const answers = await Promise.all(polls);
      for (const a of answers) expect(a!.messages.map((m) => m.text)).toEqual(["from A"]);
      expect(tailReads - before).toBe(1);
    } finally {
      await relay.shutdown(0);
      await store.close();
    }
  });

  test("a change during the shared read is not missed: the polls share a second read", async () => {
    const store = newTestStore();
    const bus = new RemoteBus();
    const relay = new Relay({ store, bus, clock: new TestClock(), limits: testConfig(), adminToken: ADMIN_TOKEN });
    const readTail = store.readTail.bind(store);
    let tailReads = 0;
    store.readTail = async (room, limit) => {
      tailReads++;
      const snap = await readTail(room, limit);
      // The first read is overtaken: another instance commits and notifies before it returns.
      if (tailReads === 1) {
        await store.insertMessage({ ...INSERT_DEFAULTS, room: "r", from: "ann", to: "all", text: "second", expectsReply: "none", nowMs: 3, refuseIfClosed: true, maxRooms: 0, retention: 0 });
        bus.remote("r");
      }
      return snap;
    };
    try {
      await store.insertMessage({ ...INSERT_DEFAULTS, room: "r", from: "ann", to: "all", text: "first", expectsReply: "none", nowMs: 2, refuseIfClosed: true, maxRooms: 0, retention: 0 });
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => relay.read({ room: "r", name: `p${i}`, capabilities: "" }, 0, 0)));
      for (const a of answers) expect(a!.messages.map((m) => m.text)).toEqual(["first", "second"]);
      expect(tailReads).toBe(2);
    } finally {
      await relay.shutdown(0);
      await store.close();
    }
  });
});
