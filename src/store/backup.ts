import { Database } from "bun:sqlite";
import { chmodSync, closeSync, existsSync, linkSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { openDatabase, UnusableDatabaseError } from "./db.ts";
import { APPLICATION_ID, MIGRATIONS } from "./migrations.ts";

/** What a backup or restore copied, for the verb's one-line report. */
export interface CopyReport {
  bytes: number;
  messages: number;
  codes: number;
  schemaVersion: number;
}

function openExisting(path: string, readonly: boolean): Database {
  if (!existsSync(path)) throw new UnusableDatabaseError(`${path} does not exist`);
  try {
    const db = new Database(path, readonly ? { readonly: true, strict: true } : { readwrite: true, create: false, strict: true });
    db.run("PRAGMA busy_timeout = 5000");
    db.query("SELECT count(*) FROM sqlite_schema").get();
    return db;
  } catch (err) {
    throw new UnusableDatabaseError(`${path} is not a SQLite database or is corrupt (${(err as Error).message})`);
  }
}

/** Refuses (UnusableDatabaseError) a database that is not ours, or newer than this version understands. */
function checkOurs(db: Database, path: string): number {
  const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
  const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (appId !== APPLICATION_ID) throw new UnusableDatabaseError(`${path} is not an argybargy 1.1 database`);
  if (version < 1 || version > MIGRATIONS.length) {
    throw new UnusableDatabaseError(`${path} has schema version ${version}, which this argybargy does not understand (1 to ${MIGRATIONS.length})`);
  }
  return version;
}

function counts(path: string, schemaVersion: number): CopyReport {
  const db = new Database(path, { readonly: true, strict: true });
  try {
    const n = (sql: string) => (db.query(sql).get() as { n: number }).n;
    return { bytes: statSync(path).size, messages: n("SELECT count(*) AS n FROM messages"), codes: n("SELECT count(*) AS n FROM codes"), schemaVersion };
  } finally {
    db.close();
  }
}

/**
 * `VACUUM INTO` a temporary file created 0600 beside `target`, then moves it into place: a
 * reader never sees a half-written copy, and a failure leaves `target` as it was. Without
 * `replace`, a `target` that appeared meanwhile is not overwritten (link, not rename).
 */
function vacuumInto(db: Database, target: string, replace: boolean): void {
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  closeSync(openSync(tmp, "wx", 0o600));
  try {
    db.run("VACUUM INTO ?", [tmp]);
    chmodSync(tmp, 0o600);
    if (replace) {
      renameSync(tmp, target);
    } else {
      linkSync(tmp, target);
      rmSync(tmp);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new UnusableDatabaseError(`${target} already exists`);
    throw err;
  }
}

/**
 * A consistent copy of the live database at `dbPath` into `target` (0600) without stopping the
 * server: a second connection's `VACUUM INTO` reads one WAL snapshot while the server goes on
 * committing, so the copy holds every transaction committed before it started. Refuses an
 * existing `target` unless `force`.
 */
export function backupDatabase(dbPath: string, target: string, opts: { force: boolean }): CopyReport {
  if (existsSync(target) && !opts.force) throw new UnusableDatabaseError(`${target} already exists; pass --force to overwrite it`);
  const db = openExisting(dbPath, false);
  try {
    const version = checkOurs(db, dbPath);
    vacuumInto(db, target, opts.force);
    return counts(target, version);
  } finally {
    db.close();
  }
}

/**
 * Puts the backup `file` in place as `dbPath`, which must not exist yet, after `PRAGMA
 * integrity_check` and the application id and version checks; then migrates it to this
 * version's schema. Throws UnusableDatabaseError, writing nothing, for a corrupt, foreign or
 * newer file.
 */
export function restoreDatabase(file: string, dbPath: string): CopyReport {
  for (const p of [dbPath, `${dbPath}-wal`]) {
    if (existsSync(p)) throw new UnusableDatabaseError(`${p} exists; restore only into a data directory without a database`);
  }
  const db = openExisting(file, true);
  let version: number;
  try {
    let problems: string[];
    try {
      problems = (db.query("PRAGMA integrity_check").all() as { integrity_check: string }[]).map((r) => r.integrity_check);
    } catch (err) {
      throw new UnusableDatabaseError(`${file} is corrupt (${(err as Error).message})`);
    }
    if (problems.length !== 1 || problems[0] !== "ok") throw new UnusableDatabaseError(`${file} fails the integrity check (${problems[0] ?? "no answer"})`);
    version = checkOurs(db, file);
    vacuumInto(db, dbPath, false);
  } finally {
    db.close();
  }
  openDatabase(dbPath).close();
  return counts(dbPath, version);
}
