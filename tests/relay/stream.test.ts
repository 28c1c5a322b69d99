import { expect, test } from "bun:test";
import { issueCode } from "../../src/relay/access.ts";
import { LocalBus } from "../../src/relay/bus.ts";
import { Relay, type StreamEvent } from "../../src/relay/relay.ts";
import { StreamSlots } from "../../src/relay/stream.ts";
import type { Agent } from "../../src/relay/types.ts";
import type { Store } from "../../src/relay/ports.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ADMIN_TOKEN, newTestRelay, testConfig, TestClock, AGENT_POST } from "../helpers.ts";

const agent = (name: string, room = "r"): Agent => ({ name, room, capabilities: "" });
const say = (relay: Relay, text: string, to = "all", room = "r") => relay.commit({ room, from: "writer", to, text, expectsReply: "none" }, AGENT_POST);

/** Collects a follower's events until `stop` says so (or 5 s pass). */
async function collect(events: AsyncGenerator<StreamEvent>, ctl: AbortController, stop: (got: StreamEvent[]) => boolean) {
  const got: StreamEvent[] = [];
  const giveUp = setTimeout(() => ctl.abort(), 5000);
  for await (const e of events) {
    got.push(e);
    if (stop(got)) ctl.abort();
  }
  clearTimeout(giveUp);
  return got;
}

test("the idle valve: a quiet stream gets a room event with should_exit idle_timeout, and a message clears it", async () => {
  const { relay, clock } = newTestRelay({ ARGYBARGY_MAX_IDLE_SECONDS: "60" });
  const ctl = new AbortController();
  const got: StreamEvent[] = [];
  const rooms = () => got.filter((e) => e.kind === "room").map((e) => e.kind === "room" && [e.budget.shouldExit, e.budget.reason]);
  const done = (async () => {
    for await (const e of relay.follow(agent("reader"), 0, { idleMs: 30, signal: ctl.signal })) got.push(e);
  })();
  const until = async (n: number) => {
    for (let i = 0; i < 300 && rooms().length < n; i++) await Bun.sleep(10);
  };
  await Bun.sleep(50);
  expect(got.filter((e) => e.kind !== "idle")).toEqual([]); // an open, fresh room says nothing
  clock.advance(61_000);
  await until(1); // noticed at the next heartbeat's re-read
  expect(rooms()).toEqual([[true, "idle_timeout"]]);
  await say(relay, "back to work");
  await until(2);
  ctl.abort();
  await done;
  expect(rooms()).toEqual([[true, "idle_timeout"], [false, null]]);
  expect(got.filter((e) => e.kind !== "idle").map((e) => e.kind)).toEqual(["room", "message", "room"]);
});

test("wake cost: one post to a room with 200 open streams does no store read per stream", async () => {
  const inner = SqliteStore.open(":memory:");
  const counts = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        counts.set(String(prop), (counts.get(String(prop)) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  }) as Store;
  const relay = new Relay({ store, bus: new LocalBus(), clock: new TestClock(), limits: testConfig(), adminToken: ADMIN_TOKEN });
  await issueCode(inner, { name: "x", room: "r" }, { nowMs: Date.now(), hashCodes: true, maxCodes: 0 });
  await say(relay, "warm the tail");
  const ctl = new AbortController();
  const followers = Array.from({ length: 200 }, (_, i) => collect(relay.follow(agent(`s${i}`), 1, { idleMs: 60_000, signal: ctl.signal }), ctl, () => false));
  for (let i = 0; i < 200 && relay.waiters.count() < 200; i++) await Bun.sleep(5);
  expect(relay.waiters.count()).toBe(200);
  counts.clear();
  await say(relay, "to everyone");
  // The relay announces a commit one turn after it (the poster is answered first).
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 200 && relay.waiters.count() < 200; i++) await Bun.sleep(5);
  ctl.abort();
  const got = await Promise.all(followers);
  expect(got.every((g) => g.length === 1 && g[0]!.kind === "message" && g[0]!.message.text === "to everyone")).toBe(true);
  // The insert itself is one call; no follower touched the store.
  const reads = [...counts].filter(([name]) => name !== "insertMessage");
  expect(reads).toEqual([]);
  expect(relay.streams.count()).toBe(0);
});

test("stream slots: the cap ends the oldest of the same key only; an abort frees the slot at once; 0 = no cap", () => {
  const slots = new StreamSlots(2);
  const a = slots.take("k");
  const b = slots.take("k");
  const other = slots.take("j");
  expect(slots.count("k")).toBe(2);
  const c = slots.take("k");
  expect([a.signal.aborted, b.signal.aborted, c.signal.aborted, other.signal.aborted]).toEqual([true, false, false, false]);
  expect(slots.count("k")).toBe(2);
  const outer = new AbortController();
  slots.take("j", outer.signal);
  expect(slots.count("j")).toBe(2);
  outer.abort();
  expect(slots.count("j")).toBe(1);
  b.end();
  b.end();
  expect(slots.count()).toBe(2);
  slots.abortAll();
  expect(slots.count()).toBe(0);
  const open = new StreamSlots(0);
  const many = Array.from({ length: 50 }, () => open.take("k"));
  expect(many.some((s) => s.signal.aborted)).toBe(false);
  expect(open.count("k")).toBe(50);
});

test("shutdown ends every follower, also one that is writing rather than parked", async () => {
  const { relay } = newTestRelay();
  await say(relay, "one");
  const ctl = new AbortController();
  const events = relay.follow(agent("reader"), 0, { idleMs: 60_000, signal: ctl.signal });
  const first = await events.next();
  expect(first.value).toMatchObject({ kind: "message" });
  // Not parked now: the consumer has not asked for more yet.
  const stopping = relay.shutdown(1000);
  expect((await events.next()).done).toBe(true);
  await stopping;
  expect(relay.streams.count()).toBe(0);
  expect(relay.waiters.count()).toBe(0);
});
