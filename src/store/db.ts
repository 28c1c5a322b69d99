import { Database } from "bun:sqlite";
import { closeSync, existsSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { APPLICATION_ID, MIGRATIONS } from "./migrations.ts";
import { looksLikeV1 } from "./v1.ts";

/** `normal` (WAL: durable across process crashes) or `full` (also across power loss, fsync per commit). */
export type SyncMode = "normal" | "full";

/** Thrown when a database file is not one this version can use; the message names the file. */
export class UnusableDatabaseError extends Error {
  override name = "UnusableDatabaseError";
}

/**
 * Opens (creating with mode 0600 before any data is written) and migrates an argybargy database.
 * `:memory:` gives a private in-memory database for tests. Throws UnusableDatabaseError for a
 * database this version does not recognise, without modifying it. `sync` sets PRAGMA synchronous.
 */
export function openDatabase(path: string, sync: SyncMode = "normal"): Database {
  if (path !== ":memory:" && !existsSync(path)) closeSync(openSync(path, "wx", 0o600));
  const db = new Database(path, { create: true, strict: true });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    check(db, path);
    db.run("PRAGMA journal_mode = WAL");
    db.run(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    db.run("PRAGMA secure_delete = ON");
    db.run("PRAGMA foreign_keys = ON");
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function check(db: Database, path: string): void {
  const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
  const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  const tables = (db.query("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number }).n;
  const refuse = (why: string) =>
    new UnusableDatabaseError(`${path} ${why}; move it aside or point ARGYBARGY_DATA at another directory.`);
  if (appId === 0 && version === 0 && tables === 0) return; // brand new
  if (looksLikeV1(db)) {
    throw new UnusableDatabaseError(`${path} is an argybargy 1.0 database; bring it into 1.1 with: argybargy import ${dirname(path)}`);
  }
  if (appId !== APPLICATION_ID) throw refuse("is not an argybargy database");
  if (version > MIGRATIONS.length) throw refuse(`has schema version ${version}, newer than this argybargy understands (${MIGRATIONS.length})`);
}

function migrate(db: Database): void {
  const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  for (let i = version; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.run(MIGRATIONS[i]!);
      db.run(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.run(`PRAGMA user_version = ${i + 1}`);
    }).immediate();
  }
}
