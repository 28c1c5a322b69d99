import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, UnusableDatabaseError } from "../../src/store/db.ts";
import { APPLICATION_ID, MIGRATIONS } from "../../src/store/migrations.ts";
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
