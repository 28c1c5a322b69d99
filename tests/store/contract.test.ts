import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { InsertCodeInput, InsertMessageInput, Message } from "../../src/relay/types.ts";
import type { Store } from "../../src/relay/ports.ts";
import { INSERT_DEFAULTS } from "../helpers.ts";
import { STORE_KINDS, type StoreSite } from "./stores.ts";

/** One body per store behaviour, run against SQLite and PostgreSQL alike. */
for (const kind of STORE_KINDS) {
  describe(`store contract: ${kind.name}`, () => {
    let site: StoreSite;
    let store: Store;
    beforeEach(async () => {
      site = await kind.site();
      store = await site.open();
    });
    afterEach(async () => {
      await site.cleanup();
    });

    const post = (room: string, from: string, text: string, extra: Partial<InsertMessageInput> = {}) =>
      store.insertMessage({ ...INSERT_DEFAULTS, room, from, to: "all", text, expectsReply: "none", nowMs: 1_000_000, refuseIfClosed: true, maxRooms: 0, retention: 0, ...extra } as InsertMessageInput);
    const code = (name: string, extra: Partial<InsertCodeInput> = {}): InsertCodeInput => ({
      name, room: "r", capabilities: "", createdMs: 1000, expiresMs: null, stored: `h-${name}`, hashed: true,
      masked: "abcd…wxyz", lookup: `h-${name}`, maxCodes: 0, ...extra,
    });

    test("seq: concurrent posts get 1..n per room, without gaps or repeats, and a reader from any cursor sees the rest", async () => {
      const results = await Promise.all(Array.from({ length: 120 }, (_, i) => post(`room${i % 3}`, `w${i % 7}`, `m${i}`)));
      for (const room of ["room0", "room1", "room2"]) {
        const seqs = results.filter((r) => r.ok && r.message.room === room).map((r) => (r as { message: { seq: number } }).message.seq).sort((a, b) => a - b);
        expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        const snap = await store.readSince(room, 17, "reader");
        expect(snap.messages.map((m) => m.seq)).toEqual(Array.from({ length: 23 }, (_, i) => i + 18));
        expect(snap.highSeq).toBe(40);
      }
      // Posts answer in the order they were queued within one room.
      const room0 = results.filter((r) => r.ok && r.message.room === "room0").map((r) => (r as any).message);
      expect(room0.map((m: any) => m.seq)).toEqual([...room0.map((m: any) => m.seq)].sort((a: number, b: number) => a - b));
      expect(await store.countMessages()).toBe(120);
    });

    test("retention keeps the newest N messages of a room; the counter never goes back", async () => {
      for (let i = 1; i <= 12; i++) await post("r", "a", `m${i}`, { retention: 5 });
      const tail = await store.readTail("r", 100);
      expect(tail.messages.map((m) => m.seq)).toEqual([8, 9, 10, 11, 12]);
      expect(tail.highSeq).toBe(12);
      expect(await store.listRoomSummaries()).toEqual([{ room: "r", messages: 5, lastSeq: 12, lastTsMs: 1_000_000, agentRun: 12 }]);
      expect(await store.getMessage("r", 3)).toBeNull();
    });

    test("retention follows its setting: lowered, the next post prunes down to it; batches prune exactly", async () => {
      for (let i = 1; i <= 10; i++) await post("r", "a", `m${i}`, { retention: 8 });
      expect((await store.readTail("r", 100)).messages.map((m) => m.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
      await post("r", "a", "m11", { retention: 3 });
      expect((await store.readTail("r", 100)).messages.map((m) => m.seq)).toEqual([9, 10, 11]);
      // Posts of one tick share a group commit (one batch): the floor moves by the batch.
      await Promise.all(Array.from({ length: 7 }, (_, i) => post("r", "b", `n${i}`, { retention: 3 })));
      expect((await store.readTail("r", 100)).messages.map((m) => m.seq)).toEqual([16, 17, 18]);
      expect((await store.listRoomSummaries())[0]).toMatchObject({ room: "r", messages: 3, lastSeq: 18 });
    });

    test("snapshots: an unknown room reads empty and open; a read carries the high seq, newest time and status", async () => {
      const empty = await store.readSince("nowhere", 0, "x");
      expect(empty).toEqual({ messages: [], highSeq: 0, status: { name: "nowhere", status: "open", closedAtMs: null, closedBy: null }, lastTsMs: null, agentRun: 0 });
      await post("r", "a", "one", { nowMs: 5000 });
      await post("r", "a", "two", { nowMs: 6000 });
      const snap = await store.readSince("r", 1, "b");
      expect(snap.messages.map((m) => [m.seq, m.text, m.tsMs, m.from, m.to, m.claimedBy])).toEqual([[2, "two", 6000, "a", "all", null]]);
      expect(snap.highSeq).toBe(2);
      expect(snap.lastTsMs).toBe(6000);
      // The viewer's own messages count towards the high seq but are not delivered to it.
      const own = await store.readSince("r", 0, "a");
      expect(own.messages).toEqual([]);
      expect(own.highSeq).toBe(2);
    });

    test("visibility: polls get messages to all or to the viewer; history adds the viewer's own", async () => {
      await post("r", "a", "to all");
      await post("r", "a", "to b", { to: "b" });
      await post("r", "a", "to c", { to: "c" });
      await post("r", "b", "b speaks");
      expect((await store.readSince("r", 0, "b")).messages.map((m) => m.text)).toEqual(["to all", "to b"]);
      expect((await store.readSince("r", 0, "c")).messages.map((m) => m.text)).toEqual(["to all", "to c", "b speaks"]);
      expect((await store.history("r", "b", 10)).map((m) => m.text)).toEqual(["to all", "to b", "b speaks"]);
      expect((await store.history("r", "b", 2)).map((m) => m.text)).toEqual(["to b", "b speaks"]);
      expect((await store.readTail("r", 2)).messages.map((m) => m.text)).toEqual(["to c", "b speaks"]);
    });

    test("texts come back exactly as stored, U+0000 and emoji included", async () => {
      const text = "nul\u0000 here, \"quotes\", {braces}, back\\slash, é 😀\nNULL";
      const r = await post("r", "a", text);
      expect(r.ok && r.message.text).toBe(text);
      expect((await store.getMessage("r", 1))!.text).toBe(text);
      expect((await store.readSince("r", 0, "b")).messages[0]!.text).toBe(text);
    });

    test("claims: of many concurrent claimers exactly one wins and every one learns the holder", async () => {
      await post("r", "a", "task", { expectsReply: "anyone" });
      const holders = await Promise.all(Array.from({ length: 40 }, (_, i) => store.claimMessage("r", 1, `c${i}`, null)));
      const winner = holders[0]!;
      expect(holders.every((h) => h === winner)).toBe(true);
      expect((await store.getMessage("r", 1))!.claimedBy).toBe(winner);
      expect(await store.claimMessage("r", 1, "late", null)).toBe(winner);
      expect(await store.claimMessage("r", 99, "x", null)).toBeNull();
    });

    test("room status: a closed room refuses agent posts with its status, takes operator posts, and reopens", async () => {
      await post("r", "a", "before");
      await store.setRoomStatus({ name: "r", status: "closed", closedAtMs: 42, closedBy: "operator" });
      const refused = await post("r", "a", "after");
      expect(refused).toEqual({ ok: false, reason: "room_closed", status: { name: "r", status: "closed", closedAtMs: 42, closedBy: "operator" } });
      const op = await post("r", "operator", "operator note", { refuseIfClosed: false });
      expect(op.ok && op.message.seq).toBe(2);
      expect((await store.readSince("r", 0, "x")).status.status).toBe("closed");
      expect(await store.listRoomStatuses()).toEqual([{ name: "r", status: "closed", closedAtMs: 42, closedBy: "operator" }]);
      await store.setRoomStatus({ name: "r", status: "open", closedAtMs: null, closedBy: null });
      expect((await post("r", "a", "again")).ok).toBe(true);
      expect((await store.getRoomStatus("r")).status).toBe("open");
    });

    test("room quota: a first message in a new room is refused once the quota of rooms holds messages", async () => {
      expect((await post("a", "x", "1", { maxRooms: 2 })).ok).toBe(true);
      expect((await post("b", "x", "1", { maxRooms: 2 })).ok).toBe(true);
      expect(await post("c", "x", "1", { maxRooms: 2 })).toEqual({ ok: false, reason: "room_quota" });
      expect((await post("a", "x", "2", { maxRooms: 2 })).ok).toBe(true);
      // Concurrent first posts to new rooms cannot overshoot the quota.
      const burst = await Promise.all(["d", "e", "f"].map((room) => post(room, "x", "1", { maxRooms: 3 })));
      expect(burst.filter((r) => r.ok)).toHaveLength(1);
    });

    test("aggregates: summaries, counts, posters and participants follow the writes", async () => {
      await post("r", "a", "1", { nowMs: 100 });
      await post("r", "b", "2", { nowMs: 200 });
      await post("s", "a", "3", { nowMs: 300 });
      const summaries = (await store.listRoomSummaries()).sort((x, y) => x.room.localeCompare(y.room));
      expect(summaries).toEqual([{ room: "r", messages: 2, lastSeq: 2, lastTsMs: 200, agentRun: 2 }, { room: "s", messages: 1, lastSeq: 1, lastTsMs: 300, agentRun: 1 }]);
      expect(await store.countMessages()).toBe(3);
      const posters = (await store.listPosters()).sort((x, y) => (x.room + x.name).localeCompare(y.room + y.name));
      expect(posters).toEqual([{ room: "r", name: "a", lastTsMs: 100, firstSeq: 1 }, { room: "r", name: "b", lastTsMs: 200, firstSeq: 2 }, { room: "s", name: "a", lastTsMs: 300, firstSeq: 1 }]);
      await store.insertCode(code("holder", { expiresMs: 5000 }));
      const p = await store.participants("r", 1000);
      expect([...p.posters].sort()).toEqual(["a", "b"]);
      expect([...p.codeHolders]).toEqual(["holder"]);
      expect([...(await store.participants("r", 6000)).codeHolders]).toEqual([]);
    });

    test("open questions: the inbox lists unanswered questions of open rooms until the addressed party posts", async () => {
      await post("r", "a", "b, what?", { expectsReply: "b", nowMs: 10 });
      await post("r", "a", "anyone?", { expectsReply: "anyone", nowMs: 20 });
      await post("t", "operator", "from the operator", { expectsReply: "anyone", nowMs: 30, refuseIfClosed: false });
      await post("s", "c", "in s", { expectsReply: "anyone", nowMs: 40 });
      expect((await store.waiting(10)).map((m) => m.text)).toEqual(["b, what?", "anyone?", "in s"]);
      await post("r", "a", "talking to myself", { nowMs: 50 });
      expect((await store.waiting(10)).map((m) => m.text)).toEqual(["b, what?", "anyone?", "in s"]);
      await post("r", "c", "I answer anyone", { nowMs: 60 });
      expect((await store.waiting(10)).map((m) => m.text)).toEqual(["b, what?", "in s"]);
      await post("r", "b", "b answers", { nowMs: 70 });
      expect((await store.waiting(10)).map((m) => m.text)).toEqual(["in s"]);
      await store.setRoomStatus({ name: "s", status: "closed", closedAtMs: 1, closedBy: "operator" });
      expect(await store.waiting(10)).toEqual([]);
    });

    test("open questions: a crowd of unanswered DMs to one agent stays open through others' posts, alone and batched, until that agent posts", async () => {
      for (let i = 0; i < 60; i++) await post("r", "a", `b, question ${i}?`, { to: "b", expectsReply: "b", nowMs: 10 + i });
      await post("r", "a", "anyone?", { expectsReply: "anyone", nowMs: 100 });
      await post("r", "c", "c passes by", { nowMs: 101 });
      await Promise.all([post("r", "d", "d passes by", { nowMs: 102 }), post("r", "a", "a again", { nowMs: 103 })]);
      expect((await store.waiting(100)).map((m) => m.text)).toEqual(Array.from({ length: 60 }, (_, i) => `b, question ${i}?`));
      await Promise.all([post("r", "c", "c again", { nowMs: 104 }), post("r", "b", "b answers them all", { nowMs: 105 })]);
      expect(await store.waiting(100)).toEqual([]);
    });

    test("posts queued in the same turn (one group commit) keep every per-post rule, in order", async () => {
      await post("closed", "x", "before the close");
      await store.setRoomStatus({ name: "closed", status: "closed", closedAtMs: 7, closedBy: "operator" });
      const batch = await Promise.all([
        post("r", "a", "b, what?", { expectsReply: "b", nowMs: 1 }),
        post("closed", "x", "refused"),
        post("r", "c", "anyone?", { expectsReply: "anyone", nowMs: 2 }),
        post("r", "b", "b answers a", { nowMs: 3 }),
        post("closed", "operator", "operator note", { refuseIfClosed: false }),
        post("r", "c", "c is not an answer to c", { nowMs: 4 }),
        post("r", "b", "b again", { nowMs: 5 }),
      ]);
      expect(batch.map((r) => (r.ok ? r.message.seq : r.reason))).toEqual([1, "room_closed", 2, 3, 2, 4, 5]);
      // "b answers a" answers both; "anyone?" was answered by b's post after it, not by c's own.
      expect(await store.waiting(10)).toEqual([]);
      const posters = (await store.listPosters()).filter((p) => p.room === "r").sort((x, y) => x.name.localeCompare(y.name));
      expect(posters).toEqual([{ room: "r", name: "a", lastTsMs: 1, firstSeq: 1 }, { room: "r", name: "b", lastTsMs: 5, firstSeq: 3 }, { room: "r", name: "c", lastTsMs: 4, firstSeq: 2 }]);
      const lone = await Promise.all([post("q", "a", "anyone?", { expectsReply: "anyone" }), post("q", "a", "me again")]);
      expect(lone.every((r) => r.ok)).toBe(true);
      expect((await store.waiting(10)).map((m) => m.text)).toEqual(["anyone?"]);
    });

    test("admin feed: newest messages of one room (paged by seq) or of all rooms in write order", async () => {
      for (let i = 1; i <= 4; i++) await post(i % 2 ? "r" : "s", "a", `m${i}`);
      expect((await store.adminMessages(null, null, 3)).map((m) => m.text)).toEqual(["m2", "m3", "m4"]);
      expect((await store.adminMessages("r", null, 10)).map((m) => m.text)).toEqual(["m1", "m3"]);
      expect((await store.adminMessages("r", 2, 10)).map((m) => m.text)).toEqual(["m1"]);
    });

    test("codes: insert, lookup, active-name rule, quota, listing, deletion by name or code, purge", async () => {
      const first = await store.insertCode(code("alice"));
      expect(first.ok).toBe(true);
      expect(await store.insertCode(code("alice", { lookup: "other", stored: "other" }))).toEqual({ ok: false, reason: "name_taken" });
      expect((await store.insertCode(code("old", { expiresMs: 500 }))).ok).toBe(true);
      expect((await store.insertCode(code("old", { lookup: "h-old2", stored: "h-old2" }))).ok).toBe(true); // the first "old" expired
      expect(await store.insertCode(code("bob", { maxCodes: 3 }))).toEqual({ ok: false, reason: "code_quota" });
      expect(await store.countCodes()).toBe(3);
      const found = await store.findCode("h-alice");
      expect(found).toMatchObject({ name: "alice", room: "r", hashed: true, display: "abcd…wxyz", expiresMs: null, createdMs: 1000 });
      expect(await store.findCode("nope")).toBeNull();
      expect((await store.listCodes()).map((c) => c.name)).toEqual(["alice", "old", "old"]);
      expect(await store.deleteCodes("h-alice-plain", "h-alice", "elsewhere")).toEqual({ count: 0, matchedByCode: true });
      expect(await store.deleteCodes("x", "h-alice", null)).toEqual({ count: 1, matchedByCode: true });
      expect(await store.deleteCodes("old", "h-nothing", "r")).toEqual({ count: 2, matchedByCode: false });
      await store.insertCode(code("gone", { expiresMs: 100 }));
      expect(await store.purgeExpiredCodes(50)).toBe(0);
      expect(await store.purgeExpiredCodes(200)).toBe(1);
    });

    test("codes: plaintext rows are hashed in place and keep authenticating by their lookup hash", async () => {
      await store.insertCode(code("plain", { hashed: false, stored: "the-plain-code", lookup: "hash-of-plain" }));
      expect((await store.findCode("hash-of-plain"))!.display).toBe("the-plain-code");
      expect(await store.hashPlaintextCodes()).toBe(1);
      expect(await store.hashPlaintextCodes()).toBe(0);
      expect(await store.findCode("hash-of-plain")).toMatchObject({ hashed: true, stored: "hash-of-plain", display: "abcd…wxyz" });
    });

    test("audit: appended with ids, capped to the newest, listed oldest first, detail updatable", async () => {
      const ids: number[] = [];
      for (let i = 1; i <= 5; i++) ids.push(await store.insertAudit({ tsMs: i, action: "a", actor: `x${i}`, room: "r", detail: `d${i}` }, 3));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      await store.updateAuditDetail(ids[4]!, "changed");
      const rows = await store.listAudit(10);
      expect(rows.map((r) => [r.actor, r.detail, r.tsMs])).toEqual([["x3", "d3", 3], ["x4", "d4", 4], ["x5", "changed", 5]]);
      expect((await store.listAudit(1)).map((r) => r.actor)).toEqual(["x5"]);
    });

    test("cursors: delivered moves by compare-and-set, read only rises, listed per room", async () => {
      expect(await store.getCursor("r", "a")).toEqual({ deliveredSeq: 0, deliveredMs: null, readSeq: 0, readMs: null, seenSeq: 0, seenMs: null });
      const racers = await Promise.all([store.moveDelivered("r", "a", 0, 5, 10), store.moveDelivered("r", "a", 0, 6, 11)]);
      expect(racers.filter(Boolean)).toHaveLength(1);
      const at = (await store.getCursor("r", "a")).deliveredSeq;
      expect(await store.moveDelivered("r", "a", 0, 9, 12)).toBe(false);
      expect(await store.moveDelivered("r", "a", at, 9, 13)).toBe(true);
      await store.raiseRead("r", "a", 4, 20);
      await store.raiseRead("r", "a", 2, 21);
      expect(await store.getCursor("r", "a")).toEqual({ deliveredSeq: 9, deliveredMs: 13, readSeq: 4, readMs: 20, seenSeq: 0, seenMs: null });
      await store.raiseRead("r", "b", 1, 30);
      expect(await store.listCursors("r")).toEqual([
        { name: "a", deliveredSeq: 9, deliveredMs: 13, readSeq: 4, readMs: 20, seenSeq: 0, seenMs: null },
        { name: "b", deliveredSeq: 0, deliveredMs: null, readSeq: 1, readMs: 30, seenSeq: 0, seenMs: null },
      ]);
      expect(await store.listCursors("other")).toEqual([]);
    });

    test("threads: a reply joins its root's thread; history reads one thread", async () => {
      const root = await post("r", "a", "root");
      await post("r", "b", "elsewhere");
      const reply = await post("r", "b", "reply", { replyTo: 1, thread: 1 });
      expect(root.ok && root.message.thread).toBe(1);
      expect(reply.ok && [reply.message.replyTo, reply.message.thread]).toEqual([1, 1]);
      expect((await store.history("r", "c", 10, 1)).map((m) => [m.seq, m.replyTo, m.thread])).toEqual([[1, null, 1], [3, 1, 1]]);
      expect((await store.getMessage("r", 3))!.thread).toBe(1);
    });

    test("leases: renew and release by the holder only; expiry reopens; the holder's reply completes the lease", async () => {
      await post("r", "a", "task one", { expectsReply: "anyone" });
      await post("r", "a", "task two", { expectsReply: "anyone" });
      expect(await store.claimMessage("r", 1, "b", 5000)).toBe("b");
      expect((await store.getMessage("r", 1))!.leaseUntilMs).toBe(5000);
      expect(await store.renewLease("r", 1, "c", 9000)).toBe(false);
      expect(await store.renewLease("r", 1, "b", 9000)).toBe(true);
      expect(await store.releaseLease("r", 1, "c")).toBe(false);
      expect(await store.releaseLease("r", 1, "b")).toBe(true);
      expect(await store.getMessage("r", 1)).toMatchObject({ claimedBy: null, leaseUntilMs: null, lapsedBy: "b", lapse: "released" });
      expect((await store.waiting(10)).map((m) => m.seq)).toEqual([1, 2]);
      expect(await store.claimMessage("r", 1, "c", 6000)).toBe("c");
      expect(await store.claimMessage("r", 2, "d", 7000)).toBe("d");
      expect(await store.expireLeases(5999)).toEqual([]);
      expect(await store.expireLeases(6000)).toEqual([{ room: "r", seq: 1, holder: "c" }]);
      expect(await store.getMessage("r", 1)).toMatchObject({ claimedBy: null, lapsedBy: "c", lapse: "expired" });
      // d answers the question it holds: the claim stays, the lease no longer runs out.
      await post("r", "d", "done", { replyTo: 2, thread: 2 });
      expect(await store.getMessage("r", 2)).toMatchObject({ claimedBy: "d", leaseUntilMs: null });
      expect(await store.expireLeases(99_999)).toEqual([]);
    });

    test("loop guard: agent posts pause the room at the limit; an operator post or a reset resumes it", async () => {
      const guard = { loopGuard: 3 };
      for (let i = 0; i < 3; i++) expect((await post("r", `a${i % 2}`, `m${i}`, guard)).ok).toBe(true);
      expect(await post("r", "a0", "one too many", guard)).toEqual({ ok: false, reason: "room_paused", agentRun: 3 });
      const op = await post("r", "operator", "carry on", { ...guard, byOperator: true, refuseIfClosed: false });
      expect(op.ok && op.agentRun).toBe(0);
      expect((await post("r", "a0", "again", guard)).ok).toBe(true);
      expect((await store.readSince("r", 0, "x")).agentRun).toBe(1);
      await store.resetAgentRun("r");
      expect((await store.listRoomSummaries())[0]!.agentRun).toBe(0);
    });

    test("loop guard within one group commit: each post's run, the pause at the limit, an operator post resetting it", async () => {
      const agent = (text: string, loopGuard: number) => post("r", "a", text, { loopGuard });
      const operator = (text: string, loopGuard: number) => post("r", "operator", text, { loopGuard, byOperator: true, refuseIfClosed: false });
      const runs = (rs: Awaited<ReturnType<typeof post>>[]) => rs.map((r) => (r.ok ? r.agentRun : r.reason));
      expect(runs(await Promise.all([agent("1", 10), agent("2", 10), operator("3", 10), agent("4", 10)]))).toEqual([1, 2, 0, 1]);
      expect(runs(await Promise.all([agent("5", 4), agent("6", 4), agent("7", 4), operator("8", 4), agent("9", 4)]))).toEqual([2, 3, 4, 0, 1]);
      expect(runs(await Promise.all([agent("10", 3), agent("11", 3), agent("12", 3), agent("13", 3)]))).toEqual([2, 3, "room_paused", "room_paused"]);
      expect((await store.readSince("r", 0, "x")).agentRun).toBe(3);
    });

    test("idempotency keys: stored with the message in its transaction; a second insert under the key is refused; purged by age", async () => {
      const key = { scope: "agent\u0000r\u0000a", key: "k-1", bodyHash: "h1", freshSinceMs: 0 };
      const first = await post("r", "a", "nul\u0000 once", { idempotency: key, nowMs: 5000 });
      expect(first.ok).toBe(true);
      const found = await store.findIdempotent(key.scope, key.key, 0);
      expect(found).toEqual({ bodyHash: "h1", message: (first as { message: Message }).message });
      expect(await post("r", "a", "twice", { idempotency: key })).toEqual({ ok: false, reason: "duplicate_key" });
      expect(await store.findIdempotent(key.scope, key.key, 6000)).toBeNull();
      expect(await store.purgeIdempotencyKeys(5000)).toBe(0);
      expect(await store.purgeIdempotencyKeys(5001)).toBe(1);
      expect(await store.countMessages()).toBe(1);
    });

    test("receipts: a mark counts only when it raises the agent's mark; a read is also a delivery", async () => {
      for (let i = 1; i <= 4; i++) await post("r", "a", `m${i}`);
      await store.recordReceipts([
        { room: "r", name: "b", kind: "delivered", seq: 3, atMs: 100 },
        { room: "r", name: "b", kind: "delivered", seq: 2, atMs: 110 }, // lower: says nothing new
        { room: "r", name: "c", kind: "read", seq: 2, atMs: 120 },
      ]);
      await store.recordReceipts([{ room: "r", name: "b", kind: "read", seq: 4, atMs: 200 }, { room: "r", name: "b", kind: "delivered", seq: 3, atMs: 210 }]);
      const times = (await store.receiptTimes("r", 2)).sort((x, y) => x.name.localeCompare(y.name));
      expect(times).toEqual([{ name: "b", deliveredMs: 100, readMs: 200 }, { name: "c", deliveredMs: 120, readMs: 120 }]);
      expect((await store.receiptTimes("r", 4)).sort((x, y) => x.name.localeCompare(y.name))).toEqual([{ name: "b", deliveredMs: 200, readMs: 200 }]);
      expect(await store.getCursor("r", "b")).toMatchObject({ seenSeq: 4, seenMs: 200, readSeq: 4, readMs: 200 });
    });

    test("migrations: reopening keeps the data; a newer schema is refused", async () => {
      await post("r", "a", "kept");
      await store.close();
      const again = await site.open();
      expect((await again.getMessage("r", 1))!.text).toBe("kept");
      await again.close();
      await site.bumpVersion();
      await expect(site.open()).rejects.toThrow(/newer/);
    });
  });

  test(`store contract: ${kind.name}: a database holding someone else's tables is refused and left untouched`, async () => {
    const site = await kind.site();
    try {
      await site.plantForeign();
      const before = await site.fingerprint();
      await expect(site.open()).rejects.toThrow(/not argybargy|not an argybargy/);
      expect(await site.fingerprint()).toBe(before);
    } finally {
      await site.cleanup();
    }
  });
}
