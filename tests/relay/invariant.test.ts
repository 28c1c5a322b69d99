import { expect, test } from "bun:test";
import { issueCode } from "../../src/relay/access.ts";
import { LocalBus } from "../../src/relay/bus.ts";
import { Relay } from "../../src/relay/relay.ts";
import type { Agent } from "../../src/relay/types.ts";
import type { Store } from "../../src/relay/ports.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ADMIN_TOKEN, testConfig, TestClock, AGENT_POST } from "../helpers.ts";

/** A real store whose snapshot reads pause after reading, so a post can land between snapshot and parking. */
function delayedStore(inner: SqliteStore, onRead: () => Promise<void>): Store {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if ((prop === "readTail" || prop === "readSince") && typeof value === "function") {
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          await onRead();
          return result;
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Store;
}

async function setup(onRead: () => Promise<void>) {
  const inner = SqliteStore.open(":memory:");
  const config = testConfig();
  const relay = new Relay({ store: delayedStore(inner, onRead), bus: new LocalBus(), clock: new TestClock(), limits: config, adminToken: ADMIN_TOKEN });
  await issueCode(inner, { name: "reader", room: "r" }, { nowMs: Date.now(), hashCodes: true, maxCodes: 0 });
  const reader: Agent = { name: "reader", room: "r", capabilities: "" };
  return { relay, reader };
}

/**
 * A relay where every snapshot read lets another post land before the reader parks: 120 posts by
 * w0..w2, every fifth a DM to reader0, the rest to all. `posted()` says how many have landed.
 */
async function racingPosts() {
  let relayRef: Relay | null = null;
  let n = 0;
  const { relay } = await setup(async () => {
    if (relayRef && n < 120) {
      n++;
      await relayRef.commit({ room: "r", from: `w${n % 3}`, to: n % 5 === 0 ? "reader0" : "all", text: `m${n}`, expectsReply: "none" }, AGENT_POST);
    }
  });
  relayRef = relay;
  return { relay, posted: () => n };
}

test("a post committed between a poll's snapshot and its parking is delivered without sleeping to the deadline", async () => {
  let relayRef: Relay | null = null;
  let fired = false;
  const { relay, reader } = await setup(async () => {
    if (fired || !relayRef) return;
    fired = true;
    await relayRef.commit({ room: "r", from: "writer", to: "all", text: "raced", expectsReply: "none" }, AGENT_POST);
  });
  relayRef = relay;
  const started = performance.now();
  const first = await relay.read(reader, 0, 10);
  const elapsed = performance.now() - started;
  expect(fired).toBe(true);
  expect(elapsed).toBeLessThan(5000); // woken (or never parked), not slept to the 10 s deadline
  const seqs = first!.messages.map((m) => m.seq);
  if (seqs.length === 0) {
    expect(first!.cursor).toBeLessThan(1);
    const second = await relay.read(reader, first!.cursor, 0);
    expect(second!.messages.map((m) => m.seq)).toEqual([1]);
  } else {
    expect(seqs).toEqual([1]);
    expect(first!.cursor).toBe(1);
  }
});

test("many posts racing many polls: every poller following its cursor sees every visible message exactly once, in order", async () => {
  const { relay, posted } = await racingPosts();
  const readers: Agent[] = [0, 1, 2].map((i) => ({ name: `reader${i}`, room: "r", capabilities: "" }));
  const follow = async (agent: Agent) => {
    const got: number[] = [];
    let cursor = 0;
    for (let i = 0; i < 400 && (posted() < 120 || got.length === 0 || cursor < posted()); i++) {
      const r = await relay.read(agent, cursor, 1);
      got.push(...r!.messages.map((m) => m.seq));
      cursor = r!.cursor;
    }
    const last = await relay.read(agent, cursor, 0);
    got.push(...last!.messages.map((m) => m.seq));
    return got;
  };
  const results = await Promise.all(readers.map(follow));
  for (const [i, got] of results.entries()) {
    const expected = Array.from({ length: 120 }, (_, k) => k + 1).filter((seq) => seq % 5 !== 0 || i === 0);
    expect(got).toEqual(expected);
  }
}, 30_000);

test("the same race with consumers on next() (MCP wait, the server's durable position): every visible seq exactly once, in order", async () => {
  const { relay, posted } = await racingPosts();
  const readers: Agent[] = [0, 1, 2].map((i) => ({ name: `reader${i}`, room: "r", capabilities: "" }));
  const follow = async (agent: Agent) => {
    const got: number[] = [];
    for (let i = 0; i < 400 && posted() < 120; i++) got.push(...(await relay.next(agent, 1))!.messages.map((m) => m.seq));
    for (;;) {
      const r = await relay.next(agent, 0);
      if (!r!.messages.length) break;
      got.push(...r!.messages.map((m) => m.seq));
    }
    return got;
  };
  const results = await Promise.all(readers.map(follow));
  for (const [i, got] of results.entries()) {
    const expected = Array.from({ length: 120 }, (_, k) => k + 1).filter((seq) => seq % 5 !== 0 || i === 0);
    expect(got).toEqual(expected);
  }
}, 30_000);

test("a post committed between a stream's snapshot and its parking is sent at once, not after the next wake-up", async () => {
  let relayRef: Relay | null = null;
  let reads = 0;
  // A post after the first store read discards that fill, so the stream's snapshot comes from
  // the second read (readSince); a second post lands right after it, before the stream parks.
  const { relay, reader } = await setup(async () => {
    if (++reads <= 2) await relayRef!.commit({ room: "r", from: "writer", to: "all", text: `raced${reads}`, expectsReply: "none" }, AGENT_POST);
  });
  relayRef = relay;
  const ctl = new AbortController();
  const giveUp = setTimeout(() => ctl.abort(), 5000);
  const got: number[] = [];
  for await (const e of relay.follow(reader, 0, { idleMs: 60_000, signal: ctl.signal })) {
    if (e.kind === "message") got.push(e.message.seq);
    if (got.length === 2) ctl.abort();
  }
  clearTimeout(giveUp);
  expect(reads).toBeGreaterThanOrEqual(2);
  expect(got).toEqual([1, 2]);
});

test("stream followers (Relay.follow) racing the same posts: each receives every visible seq exactly once, in order", async () => {
  const { relay, posted } = await racingPosts();
  // Posts that need no snapshot read to land, so followers also catch up while parked.
  const live = (async () => {
    for (let k = 0; k < 30; k++) {
      await Bun.sleep(2);
      await relay.commit({ room: "r", from: "live", to: "all", text: `live${k}`, expectsReply: "none" }, AGENT_POST);
    }
  })();
  const readers: Agent[] = [0, 1, 2].map((i) => ({ name: `reader${i}`, room: "r", capabilities: "" }));
  const follow = async (agent: Agent, i: number) => {
    const got: number[] = [];
    const ctl = new AbortController();
    const giveUp = setTimeout(() => ctl.abort(), 20_000);
    for await (const e of relay.follow(agent, 0, { idleMs: 60_000, signal: ctl.signal })) {
      if (e.kind !== "message") continue;
      got.push(e.message.seq);
      // Once the last post is in, listen a little longer so a duplicate would show.
      if (e.message.text === "live29" || got.includes(150)) setTimeout(() => ctl.abort(), 100);
    }
    clearTimeout(giveUp);
    return { i, got };
  };
  const [results] = await Promise.all([Promise.all(readers.map(follow)), live]);
  expect(posted()).toBe(120);
  // Live posts interleave with the injected ones, so which seqs are DMs is read back from the store.
  const all = (await relay.store.readTail("r", 1000)).messages;
  expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 150 }, (_, k) => k + 1));
  for (const { i, got } of results) {
    expect(got).toEqual(all.filter((m) => m.to === "all" || i === 0).map((m) => m.seq));
  }
  expect(relay.waiters.count()).toBe(0);
  expect(relay.streams.count()).toBe(0);
}, 30_000);
