import { Database } from "bun:sqlite";
import { closeSync, existsSync, openSync, rmSync, statSync } from "node:fs";
import { hashCode, maskCode } from "../relay/codes.ts";
import type { AuditEvent, Message, RoomStatus } from "../relay/types.ts";
import type { StoredCode, StoreDump } from "../relay/ports.ts";
import { APPLICATION_ID } from "./migrations.ts";

/** Thrown when a file is not a readable argybargy 1.0 database; the message names the row, never a code. */
export class V1FormatError extends Error {
  override name = "V1FormatError";
}

/** 1.0's tables and the columns the import reads from each. */
const V1_COLUMNS: Record<string, string[]> = {
  messages: ["id", "room", "seq", "ts", "sender", "recipient", "text", "expects_reply", "claimed_by"],
  rooms: ["room", "status", "closed_at", "closed_by"],
  codes: ["code", "display", "name", "room", "capabilities", "created", "expires"],
  audit: ["id", "ts", "action", "actor", "room", "detail"],
};

/** True when the open database has 1.0's tables and no application id: what 1.1 refuses and `import` reads. */
export function looksLikeV1(db: Database): boolean {
  const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
  return appId === 0 && missingV1Columns(db) === null;
}

function missingV1Columns(db: Database): string | null {
  for (const [table, columns] of Object.entries(V1_COLUMNS)) {
    const have = new Set((db.query(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name));
    if (have.size === 0) return `no table ${table}`;
    const missing = columns.find((c) => !have.has(c));
    if (missing) return `table ${table} has no column ${missing}`;
  }
  return null;
}

const ISO = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/** 1.0's ISO-8601 text (UTC, offset optional) as epoch ms; throws naming `where` when it is not one. */
function isoMs(value: unknown, where: string): number {
  const m = typeof value === "string" ? ISO.exec(value.trim()) : null;
  const ms = m ? Date.parse(`${m[1]}T${m[2]}${m[3] ?? "Z"}`) : Number.NaN;
  if (!Number.isFinite(ms)) throw new V1FormatError(`${where} is not an ISO-8601 time (${JSON.stringify(String(value).slice(0, 40))})`);
  return ms;
}

function text(value: unknown, where: string, opts: { empty?: boolean; nullable?: boolean } = {}): string {
  if ((value === null || value === undefined) && opts.nullable) return "";
  if (typeof value !== "string" || (!opts.empty && value === "")) throw new V1FormatError(`${where} is not ${opts.empty ? "text" : "a non-empty text"}`);
  return value;
}

/** 1.1's masked form from 1.0's (first 6 + "…" + last 4 of a code 1.0 no longer has). */
function maskFromV1Display(display: string): string {
  const [head, tail] = display.split("…");
  return head && tail && head.length >= 4 && tail.length >= 4 ? `${head.slice(0, 4)}…${tail.slice(-4)}` : "…";
}

/**
 * One 1.0 code row in 1.1's form. 1.0 kept either the plaintext (`code` = `display`) or the
 * SHA-256 hex of the code string, which is exactly 1.1's lookup hash, so a hashed code keeps
 * working. Plaintext codes are hashed when `hashCodes`, else kept.
 */
function toCode(r: Record<string, unknown>, hashCodes: boolean): StoredCode {
  const name = text(r.name, "a codes row's name");
  const where = `codes row of ${JSON.stringify(name.slice(0, 64))}`;
  const code = text(r.code, `the code of the ${where}`);
  const display = text(r.display, `the display of the ${where}`, { empty: true });
  const base = {
    name, room: text(r.room, `the room of the ${where}`), capabilities: text(r.capabilities, `the capabilities of the ${where}`, { empty: true, nullable: true }),
    createdMs: isoMs(r.created, `the created time of the ${where}`),
    expiresMs: r.expires === null || r.expires === "" ? null : isoMs(r.expires, `the expiry of the ${where}`),
  };
  if (display === code) {
    const lookup = hashCode(code);
    return { ...base, stored: hashCodes ? lookup : code, hashed: hashCodes, masked: maskCode(code), lookup };
  }
  if (!/^[0-9a-f]{64}$/.test(code)) throw new V1FormatError(`the ${where} is neither a plaintext code nor a SHA-256 hash`);
  return { ...base, stored: code, hashed: true, masked: maskFromV1Display(display), lookup: code };
}

function toMessage(r: Record<string, unknown>): Message {
  const where = `messages row ${String(r.id)}`;
  const seq = r.seq;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) throw new V1FormatError(`the seq of ${where} is not a positive whole number`);
  return {
    room: text(r.room, `the room of ${where}`), seq, tsMs: isoMs(r.ts, `the time of ${where}`),
    from: text(r.sender, `the sender of ${where}`), to: text(r.recipient, `the recipient of ${where}`),
    text: text(r.text, `the text of ${where}`, { empty: true }), expectsReply: text(r.expects_reply, `the expects_reply of ${where}`),
    claimedBy: r.claimed_by === null ? null : text(r.claimed_by, `the claimed_by of ${where}`),
    // 1.0 had no threads or leases: every message is a root, every claim permanent.
    replyTo: null, thread: seq, leaseUntilMs: null, lapsedBy: null, lapse: null,
  };
}

function toStatus(r: Record<string, unknown>): RoomStatus {
  const name = text(r.room, "a rooms row's room");
  const where = `rooms row ${JSON.stringify(name.slice(0, 64))}`;
  if (r.status !== "open" && r.status !== "closed") throw new V1FormatError(`the status of ${where} is neither open nor closed`);
  return {
    name, status: r.status,
    closedAtMs: r.closed_at === null || r.closed_at === "" ? null : isoMs(r.closed_at, `the closed_at of ${where}`),
    closedBy: r.closed_by === null ? null : text(r.closed_by, `the closed_by of ${where}`, { empty: true }),
  };
}

function toAudit(r: Record<string, unknown>): AuditEvent {
  const where = `audit row ${String(r.id)}`;
  if (typeof r.id !== "number" || !Number.isSafeInteger(r.id)) throw new V1FormatError(`${where} has no whole-number id`);
  return {
    id: r.id, tsMs: isoMs(r.ts, `the time of ${where}`), action: text(r.action, `the action of ${where}`),
    actor: text(r.actor, `the actor of ${where}`, { empty: true, nullable: true }),
    room: text(r.room, `the room of ${where}`, { empty: true, nullable: true }),
    detail: text(r.detail, `the detail of ${where}`, { empty: true, nullable: true }),
  };
}

function openV1(path: string): Database {
  let db: Database;
  try {
    db = new Database(path, { readonly: true, strict: true });
    db.run("PRAGMA busy_timeout = 5000");
    db.query("SELECT count(*) FROM sqlite_schema").get();
  } catch (err) {
    throw new V1FormatError(`${path} cannot be read as a SQLite database (${(err as Error).message})`);
  }
  const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
  if (appId === APPLICATION_ID) {
    db.close();
    throw new V1FormatError(`${path} is already an argybargy 1.1 database; there is nothing to import`);
  }
  const missing = appId === 0 ? missingV1Columns(db) : "a foreign application id";
  if (missing) {
    db.close();
    throw new V1FormatError(`${path} is not an argybargy 1.0 database (${missing})`);
  }
  return db;
}

/**
 * Runs `fn` on the 1.0 database opened read-only. A reader of a WAL database creates its
 * `-wal`/`-shm` files; when they were not there before and stayed empty, they are removed
 * again, so a refused or dry read leaves the 1.0 directory as it was.
 */
function withV1<T>(path: string, fn: (db: Database) => T): T {
  const sidecars = [`${path}-wal`, `${path}-shm`];
  const existed = sidecars.map((p) => existsSync(p));
  try {
    const db = openV1(path);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  } finally {
    if (!existed[0] && !existed[1] && existsSync(sidecars[0]!) && statSync(sidecars[0]!).size === 0) {
      for (const p of sidecars) rmSync(p, { force: true });
    }
  }
}

/**
 * Reads a whole 1.0 database (opened read-only, in one snapshot) into 1.1's StoreDump: messages
 * with their rooms, seqs, times and claims; room statuses; codes (see `toCode`); audit rows
 * with their ids. Throws V1FormatError at the first row it cannot map; 1.0 had no cursors.
 */
export function readV1(path: string, opts: { hashCodes: boolean }): StoreDump {
  return withV1(path, (db) => db.transaction((): StoreDump => {
    const rows = (table: string, order: string) =>
      db.query(`SELECT ${V1_COLUMNS[table]!.join(", ")} FROM ${table} ORDER BY ${order}`).all() as Record<string, unknown>[];
    return {
      messages: rows("messages", "id").map(toMessage),
      statuses: rows("rooms", "room").map(toStatus),
      codes: rows("codes", "created, rowid").map((r) => toCode(r, opts.hashCodes)),
      audit: rows("audit", "id").map(toAudit),
      cursors: [],
    };
  }).deferred());
}

/**
 * Writes a consistent copy of the 1.0 database at `path` (committed WAL content included) to
 * `backupPath`, created 0600; refuses when `backupPath` exists. The original is not modified.
 */
export function backupV1(path: string, backupPath: string): void {
  closeSync(openSync(backupPath, "wx", 0o600));
  try {
    withV1(path, (db) => db.run("VACUUM INTO ?", [backupPath]));
  } catch (err) {
    rmSync(backupPath, { force: true });
    throw err;
  }
}
