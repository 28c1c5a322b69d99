import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { hashCode } from "../../src/relay/codes.ts";
import type { Store } from "../../src/relay/ports.ts";
import { StoreNotEmptyError } from "../../src/store/bulk.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { newTestApp, INSERT_DEFAULTS } from "../helpers.ts";
import { everyRead } from "./every-read.ts";

describe("SqliteStore as a BulkStore", () => {
  test("a store filled through the API, dumped and loaded into a fresh one, reads the same", async () => {
    const t = newTestApp({ ARGYBARGY_HASH_CODES: "0" });
    const planner = await t.invite("planner", "build", { capabilities: "plans" });
    const coder = await t.invite("coder", "build", { expires: "1d" });
    const scout = await t.invite("scout", "research");
    await t.invite("gone", "build");
    expect((await t.admin("POST", "/admin/revoke", { target: "gone" })).status).toBe(200);
    // The codes above are stored plaintext (HASH_CODES=0); one hashed row beside them:
    const hashed = await t.store.insertCode({
      name: "hashed", room: "build", capabilities: "", createdMs: Date.now(), expiresMs: null,
      stored: hashCode("hashed-code-0123456789"), hashed: true, masked: "hash…6789", lookup: hashCode("hashed-code-0123456789"), maxCodes: 0,
    });
    expect(hashed.ok).toBe(true);

    const q = await planner.req("POST", "/messages", { text: "who takes step 1?", expects_reply: "anyone" });
    expect(q.status).toBe(200);
    expect((await coder.req("POST", "/messages/1/claim")).status).toBe(200);
    expect((await coder.req("POST", "/messages", { to: "planner", text: "me" })).status).toBe(200);
    expect((await planner.req("POST", "/messages", { to: "coder", text: "a DM" })).status).toBe(200);
    expect((await planner.req("POST", "/messages", { text: "operator?", expects_reply: "operator" })).status).toBe(200);
    expect((await coder.req("POST", "/messages", { text: "still open for planner?", expects_reply: "planner" })).status).toBe(200);
    for (let i = 1; i <= 3; i++) expect((await scout.req("POST", "/messages", { text: `note ${i}` })).status).toBe(200);
    expect((await t.admin("POST", "/admin/say", { room: "build", text: "ship tomorrow" })).status).toBe(200);
    expect((await t.admin("POST", "/admin/rooms/research/close")).status).toBe(200);
    expect((await coder.req("GET", "/messages?since=0")).status).toBe(200);
    expect((await coder.req("POST", "/messages/ack", { up_to: 2 })).status).toBe(200);
    await t.store.moveDelivered("build", "planner", 0, 3, Date.now());

    const rooms = ["build", "research", "nowhere"];
    const viewers = ["planner", "coder", "scout", "operator"];
    const codes = [planner.code, coder.code, scout.code, "hashed-code-0123456789", "not-a-code"];
    const before = await everyRead(t.store, rooms, viewers, codes);
    expect(before.waiting.map((m) => m.text)).toEqual(["still open for planner?"]);
    expect(before.audit.length).toBeGreaterThan(5);

    const dump = await t.store.dumpAll();
    const fresh = SqliteStore.open(":memory:");
    try {
      expect(await fresh.isEmpty()).toBe(true);
      await fresh.loadAll(dump);
      expect(await fresh.isEmpty()).toBe(false);
      const after = await everyRead(fresh, rooms, viewers, codes);
      expect(after).toEqual(before);
      expect(after.found.slice(0, 4).every(Boolean)).toBe(true);
      expect(await fresh.dumpAll()).toEqual(dump);
      // The loaded store goes on where the old one stopped: the next post is seq 7 and answers planner's question.
      const next = await fresh.insertMessage({ ...INSERT_DEFAULTS, room: "build", from: "planner", to: "all", text: "next", expectsReply: "none", nowMs: Date.now(), refuseIfClosed: true, maxRooms: 0, retention: 0 });
      expect(next.ok && next.message.seq).toBe(7);
      expect(await fresh.waiting(10)).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  test("loadAll into a non-empty store is refused and writes nothing", async () => {
    const source = SqliteStore.open(":memory:");
    const target = SqliteStore.open(":memory:");
    try {
      await source.insertMessage({ ...INSERT_DEFAULTS, room: "r", from: "a", to: "all", text: "one", expectsReply: "none", nowMs: 1, refuseIfClosed: false, maxRooms: 0, retention: 0 });
      const dump = await source.dumpAll();
      await target.insertAudit({ tsMs: 1, action: "x", actor: "y", room: "r", detail: "" }, 0);
      expect(await target.isEmpty()).toBe(false);
      await expect(target.loadAll(dump)).rejects.toBeInstanceOf(StoreNotEmptyError);
      expect(await target.countMessages()).toBe(0);
      expect((await target.dumpAll()).messages).toEqual([]);
    } finally {
      await source.close();
      await target.close();
    }
  });

  test("a load that fails on one row writes nothing", async () => {
    const target = SqliteStore.open(":memory:");
    try {
      const m = { room: "r", seq: 1, tsMs: 1, from: "a", to: "all", text: "x", expectsReply: "none", claimedBy: null, replyTo: null, thread: 1, leaseUntilMs: null, lapsedBy: null, lapse: null as null };
      await expect(target.loadAll({ messages: [m, { ...m }], statuses: [], codes: [], audit: [], cursors: [] })).rejects.toThrow();
      expect(await target.isEmpty()).toBe(true);
      expect(await target.listRoomSummaries()).toEqual([]);
    } finally {
      await target.close();
    }
  });

  test("rebuilt aggregates, posters and open questions equal what the insert path kept (generated histories, retention too)", async () => {
    const names = ["a", "b", "c", "operator"];
    const post = fc.record({
      room: fc.constantFrom("r1", "r2"),
      from: fc.constantFrom(...names),
      expects: fc.constantFrom("none", "anyone", ...names),
      dt: fc.integer({ min: -5, max: 50 }),
    });
    await fc.assert(fc.asyncProperty(fc.array(post, { maxLength: 40 }), fc.constantFrom(0, 3), async (posts, retention) => {
      const source = SqliteStore.open(":memory:");
      const target = SqliteStore.open(":memory:");
      try {
        let now = 1_000_000;
        for (const p of posts) {
          now += p.dt;
          const r = await source.insertMessage({ ...INSERT_DEFAULTS, byOperator: p.from === "operator", room: p.room, from: p.from, to: "all", text: "t", expectsReply: p.expects, nowMs: now, refuseIfClosed: false, maxRooms: 0, retention });
          expect(r.ok).toBe(true);
        }
        await target.loadAll(await source.dumpAll());
        expect(await target.waiting(1000)).toEqual(await source.waiting(1000));
        expect(await target.listRoomSummaries()).toEqual(await source.listRoomSummaries());
        // With retention, posters remember names whose messages were pruned: the dump carries them.
        const sort = (rows: { room: string; name: string }[]) => rows.sort((x, y) => `${x.room}/${x.name}`.localeCompare(`${y.room}/${y.name}`));
        expect(sort(await target.listPosters())).toEqual(sort(await source.listPosters()));
        expect(await target.participants("r1", now)).toEqual(await source.participants("r1", now));
      } finally {
        await source.close();
        await target.close();
      }
    }), { numRuns: 150 });
  });
});
