import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InsertMessageInput } from "../../src/relay/types.ts";
import { Checkpointer } from "../../src/store/checkpointer.ts";
import { openDatabase } from "../../src/store/db.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "argy-ckpt-"));
  dirs.push(dir);
  return join(dir, "argybargy.db");
}

/** A DM that asks its recipient a question, as most agent posts do. */
const post = (i: number): InsertMessageInput => ({
  room: "dev", from: i % 2 ? "alice" : "bob", to: i % 2 ? "bob" : "alice", text: `message ${i} ${"x".repeat(200)}`,
  expectsReply: i % 2 ? "bob" : "alice", replyTo: null, thread: null, nowMs: 1_700_000_000_000 + i, refuseIfClosed: true,
  maxRooms: 0, retention: 0, byOperator: false, loopGuard: 0, idempotency: null,
});

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const autocheckpoint = (db: Database) => (db.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint;

describe("WAL checkpoints in a worker (the server's SQLite store)", () => {
  test("the serving connection stops checkpointing in its COMMITs, and the worker copies the posts into the database file", async () => {
    const path = dbPath();
    const store = SqliteStore.open(path, "normal", { everyMs: 20, catchUpFrames: 1_000_000, catchUpMaxMs: 1000, walSizeLimit: 64 << 20 });
    try {
      await until("the worker", () => store.checkpointsOffloaded);
      expect(autocheckpoint(store.db)).toBe(0);
      const before = statSync(path).size;
      for (let i = 0; i < 300; i++) expect((await store.insertMessage(post(i))).ok).toBe(true);
      // Only the worker can have grown the database file: the serving connection no longer checkpoints.
      await until("the database file to grow", () => statSync(path).size > before);
    } finally {
      await store.close();
    }
  });

  test("posts that never pause still let the WAL restart: a catch-up holds them for one checkpoint, and none is lost or reordered", async () => {
    const path = dbPath();
    const store = SqliteStore.open(path, "normal", { everyMs: 5, catchUpFrames: 200, catchUpMaxMs: 1000, walSizeLimit: 1 << 20 });
    try {
      await until("the worker", () => store.checkpointsOffloaded);
      const seqs: number[] = [];
      let largestWal = 0;
      for (let i = 0; i < 3000; i += 4) {
        const batch = await Promise.all([0, 1, 2, 3].map((k) => store.insertMessage(post(i + k))));
        for (const r of batch) if (r.ok) seqs.push(r.message.seq);
        largestWal = Math.max(largestWal, statSync(`${path}-wal`).size);
      }
      expect(seqs).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
      // Never restarted, the WAL ends at about 23 MB (every frame of the 3,000 posts); restarted
      // after every few hundred frames, it stays near 2 MB.
      expect(largestWal).toBeLessThan(8 << 20);
      expect((await store.readTail("dev", 5)).highSeq).toBe(3000);
    } finally {
      await store.close();
    }
    // The worker's connection closed first, so the serving one was the last and removed the WAL.
    expect(existsSync(`${path}-wal`)).toBe(false);
    const reopened = SqliteStore.open(path);
    expect((await reopened.readTail("dev", 1)).highSeq).toBe(3000);
    await reopened.close();
  });

  test("a worker that fails hands checkpoints back to the serving connection", async () => {
    const path = dbPath();
    const db = openDatabase(path);
    db.run("PRAGMA wal_autocheckpoint = 0");
    // The worker opens its own connection with create: false, so a missing file makes it fail.
    const checkpointer = new Checkpointer(db, join(path, "..", "missing.db"), "NORMAL");
    try {
      await until("the fallback", () => autocheckpoint(db) === 1000);
      expect(checkpointer.offloaded).toBe(false);
      expect(checkpointer.holding).toBe(false);
    } finally {
      await checkpointer.close();
      db.close();
    }
  });

  test("CLI verbs open the store without a worker (nothing to start or wait for)", async () => {
    const store = SqliteStore.open(dbPath());
    await Bun.sleep(50);
    expect(store.checkpointsOffloaded).toBe(false);
    expect(autocheckpoint(store.db)).toBe(1000);
    await store.close();
  });
});
