import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, UnusableDatabaseError } from "../../src/store/db.ts";
import { APPLICATION_ID, MIGRATIONS } from "../../src/store/migrations.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { tempDir } from "../helpers.ts";

test("a new database is created 0600, in WAL mode, at the newest schema version", () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    const db = openDatabase(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: MIGRATIONS.length });
    expect(db.query("PRAGMA application_id").get()).toEqual({ application_id: APPLICATION_ID });
    expect(db.query("PRAGMA secure_delete").get()).toEqual({ secure_delete: 1 });
    db.close();
    // Reopening an up-to-date database changes nothing and does not fail.
    openDatabase(path).close();
  } finally {
    dir.cleanup();
  }
});

test("a database from argybargy 1.0 (or anything foreign) is refused and left byte-for-byte untouched", () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    const old = new Database(path);
    old.run("CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT, sender TEXT, text TEXT)");
    old.run("INSERT INTO messages (room, sender, text) VALUES ('default', 'a', 'hello')");
    old.close();
    const before = readFileSync(path);
    expect(() => openDatabase(path)).toThrow(UnusableDatabaseError);
    expect(() => openDatabase(path)).toThrow(/argybargy\.db.*ARGYBARGY_DATA/);
    expect(readFileSync(path).equals(before)).toBe(true);
  } finally {
    dir.cleanup();
  }
});

test("a database from a newer argybargy is refused", () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    openDatabase(path).close();
    const db = new Database(path);
    db.run(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openDatabase(path)).toThrow(/newer/);
  } finally {
    dir.cleanup();
  }
});

test("an empty file left by an interrupted first start is treated as new", () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    writeFileSync(path, "");
    const db = openDatabase(path);
    expect(db.query("PRAGMA user_version").get()).toEqual({ user_version: MIGRATIONS.length });
    db.close();
  } finally {
    dir.cleanup();
  }
});

test("ARGYBARGY_SYNC picks PRAGMA synchronous: NORMAL (1) by default, FULL (2) on request", () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    const normal = openDatabase(path);
    expect(normal.query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 });
    normal.close();
    const full = openDatabase(path, "full");
    expect(full.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
    full.close();
  } finally {
    dir.cleanup();
  }
});

test("a schema-2 database (1.1) upgrades to step 3 with its messages, posters and cursors intact", async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    const old = new Database(path);
    old.run(`PRAGMA application_id = ${APPLICATION_ID}`);
    old.run(MIGRATIONS[0]!);
    old.run(MIGRATIONS[1]!);
    old.run("PRAGMA user_version = 2");
    old.run(`INSERT INTO messages (room, seq, ts, from_name, to_name, text, expects_reply, claimed_by, open_q)
      VALUES ('lab', 1, 1000, 'alice', 'all', 'old question', 'anyone', 'bob', 1), ('lab', 2, 2000, 'bob', 'all', 'old answer', 'none', NULL, 0)`);
    old.run("INSERT INTO rooms (room, last_seq, msg_count, last_ts) VALUES ('lab', 2, 2, 2000)");
    old.run("INSERT INTO posters (room, name, last_ts) VALUES ('lab', 'alice', 1000), ('lab', 'bob', 2000)");
    old.run("INSERT INTO agent_cursors (room, name, delivered_seq, read_seq) VALUES ('lab', 'bob', 1, 1)");
    old.close();

    const store = SqliteStore.open(path);
    expect(store.db.query("PRAGMA user_version").get()).toEqual({ user_version: MIGRATIONS.length });
    // Old messages are roots of their own threads; a 1.0/1.1 claim has no lease and never expires.
    expect(await store.getMessage("lab", 1)).toMatchObject({ seq: 1, thread: 1, replyTo: null, claimedBy: "bob", leaseUntilMs: null, lapse: null });
    expect(await store.expireLeases(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect((await store.listPosters()).map((p) => [p.name, p.firstSeq])).toEqual([["alice", 0], ["bob", 0]]);
    expect(await store.getCursor("lab", "bob")).toEqual({ deliveredSeq: 1, deliveredMs: null, readSeq: 1, readMs: null, seenSeq: 0, seenMs: null });
    expect((await store.listRoomSummaries())[0]).toMatchObject({ room: "lab", lastSeq: 2, agentRun: 0 });
    await store.close();
  } finally {
    dir.cleanup();
  }
});
