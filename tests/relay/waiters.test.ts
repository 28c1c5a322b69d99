import { expect, test } from "bun:test";
import { Waiters } from "../../src/relay/waiters.ts";

test("a bump between reading the generation and parking is never missed", async () => {
  const w = new Waiters();
  const seen = w.generation("room");
  w.bump("room");
  const started = performance.now();
  expect(await w.park("room", seen, 10_000)).toBe("woken");
  expect(performance.now() - started).toBeLessThan(100);
  expect(w.count()).toBe(0);
});

test("bump wakes every waiter of that key and only that key; all are removed", async () => {
  const w = new Waiters();
  const a = [1, 2, 3].map(() => w.park("a", w.generation("a"), 10_000));
  const b = w.park("b", w.generation("b"), 50);
  expect(w.count()).toBe(4);
  w.bump("a");
  expect(await Promise.all(a)).toEqual(["woken", "woken", "woken"]);
  expect(await b).toBe("timeout");
  expect(w.count()).toBe(0);
});

test("abort removes the waiter at once; an already aborted signal never parks", async () => {
  const w = new Waiters();
  const ctl = new AbortController();
  const p = w.park("a", 0, 10_000, ctl.signal);
  expect(w.count()).toBe(1);
  ctl.abort();
  expect(await p).toBe("aborted");
  expect(w.count()).toBe(0);
  expect(await w.park("a", 0, 10_000, ctl.signal)).toBe("aborted");
  expect(w.count()).toBe(0);
});

test("bumpAll wakes every parked key (shutdown)", async () => {
  const w = new Waiters();
  const all = ["x", "y", "z"].map((k) => w.park(k, 0, 10_000));
  w.bumpAll();
  expect(await Promise.all(all)).toEqual(["woken", "woken", "woken"]);
});
