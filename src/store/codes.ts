import type { Database } from "bun:sqlite";
import type { AccessCode, AuditEvent, InsertCodeInput, InsertCodeResult } from "../relay/types.ts";

interface CodeRow {
  id: number; name: string; room: string; capabilities: string; created: number;
  expires: number | null; stored: string; hashed: number; display: string; lookup: string;
}

const toCode = (r: CodeRow): AccessCode => ({
  id: r.id, name: r.name, room: r.room, capabilities: r.capabilities, createdMs: r.created,
  expiresMs: r.expires, stored: r.stored, hashed: r.hashed === 1, display: r.hashed === 1 ? r.display : r.stored,
});

/** Access codes and the audit log: every query of them, SQL beside it. */
export class CodeQueries {
  private readonly q;

  constructor(private readonly db: Database) {
    const p = <R>(sql: string) => db.query<R, any>(sql);
    this.q = {
      count: p<{ n: number }>("SELECT count(*) AS n FROM codes"),
      activeName: p<{ id: number }>(`SELECT id FROM codes WHERE room = $room AND name = $name
        AND (expires IS NULL OR expires > $now) LIMIT 1`),
      insert: p<CodeRow>(`INSERT INTO codes (name, room, capabilities, created, expires, stored, hashed, display, lookup)
        VALUES ($name, $room, $capabilities, $created, $expires, $stored, $hashed, $display, $lookup) RETURNING *`),
      find: p<CodeRow>("SELECT * FROM codes WHERE lookup = $hash ORDER BY id LIMIT 1"),
      all: p<CodeRow>("SELECT * FROM codes ORDER BY created, id"),
      holders: p<{ name: string }>("SELECT DISTINCT name FROM codes WHERE room = $room AND (expires IS NULL OR expires > $now)"),
      nextExpiry: p<{ e: number | null }>("SELECT min(expires) AS e FROM codes WHERE room = $room AND expires > $now"),
      deleteByName: p("DELETE FROM codes WHERE name = $target AND ($room IS NULL OR room = $room)"),
      deleteByCode: p("DELETE FROM codes WHERE lookup = $hash AND ($room IS NULL OR room = $room)"),
      isCode: p<{ one: number }>("SELECT 1 AS one FROM codes WHERE lookup = $hash LIMIT 1"),
      plaintext: p<{ id: number }>("SELECT id FROM codes WHERE hashed = 0"),
      toHashed: p("UPDATE codes SET stored = lookup, hashed = 1 WHERE id = $id"),
      purge: p("DELETE FROM codes WHERE expires IS NOT NULL AND expires < $cutoff"),
      insertAudit: p<{ id: number }>(`INSERT INTO audit (ts, action, actor, room, detail)
        VALUES ($ts, $action, $actor, $room, $detail) RETURNING id`),
      trimAudit: p("DELETE FROM audit WHERE id <= $upto"),
      auditDetail: p("UPDATE audit SET detail = $detail WHERE id = $id"),
      listAudit: p<AuditEvent & { tsMs: number }>(`SELECT id, ts AS tsMs, action, actor, room, detail FROM audit
        ORDER BY id DESC LIMIT $limit`),
    };
  }

  insertCode(input: InsertCodeInput): InsertCodeResult {
    return this.db.transaction((): InsertCodeResult => {
      if (input.maxCodes > 0 && this.q.count.get({})!.n >= input.maxCodes) return { ok: false, reason: "code_quota" };
      if (this.q.activeName.get({ room: input.room, name: input.name, now: input.createdMs })) {
        return { ok: false, reason: "name_taken" };
      }
      const row = this.q.insert.get({
        name: input.name, room: input.room, capabilities: input.capabilities, created: input.createdMs,
        expires: input.expiresMs, stored: input.stored, hashed: input.hashed ? 1 : 0, display: input.masked, lookup: input.lookup,
      })!;
      return { ok: true, code: toCode(row) };
    }).immediate();
  }

  findCode(presentedHash: string): AccessCode | null {
    const row = this.q.find.get({ hash: presentedHash });
    return row ? toCode(row) : null;
  }

  listCodes(): AccessCode[] {
    return this.q.all.all({}).map(toCode);
  }

  countCodes(): number {
    return this.q.count.get({})!.n;
  }

  /** Names holding an unexpired code for the room, and when the soonest of them expires. */
  codeHolders(room: string, nowMs: number): { names: string[]; nextExpiryMs: number | null } {
    return {
      names: this.q.holders.all({ room, now: nowMs }).map((r) => r.name),
      nextExpiryMs: this.q.nextExpiry.get({ room, now: nowMs })?.e ?? null,
    };
  }

  deleteCodes(target: string, targetHash: string, room: string | null): { count: number; matchedByCode: boolean } {
    return this.db.transaction(() => {
      // A code of another room than `room` is still a secret: report it so the audit masks it.
      const isCode = Boolean(this.q.isCode.get({ hash: targetHash }));
      const byCode = this.q.deleteByCode.run({ hash: targetHash, room }).changes;
      const byName = this.q.deleteByName.run({ target, room }).changes;
      return { count: byCode + byName, matchedByCode: isCode };
    }).immediate();
  }

  hashPlaintextCodes(): number {
    const n = this.db.transaction(() => {
      const rows = this.q.plaintext.all({});
      // `lookup` already holds the SHA-256 of the code, which is exactly the hashed stored form.
      for (const r of rows) this.q.toHashed.run({ id: r.id });
      return rows.length;
    }).immediate();
    // secure_delete zeroes the freed pages; truncating the WAL drops the old page images too.
    if (n > 0) this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    return n;
  }

  purgeExpiredCodes(cutoffMs: number): number {
    return this.q.purge.run({ cutoff: cutoffMs }).changes;
  }

  insertAudit(e: AuditEvent, maxAudit: number): number {
    const id = this.q.insertAudit.get({ ts: e.tsMs, action: e.action, actor: e.actor, room: e.room, detail: e.detail })!.id;
    if (maxAudit > 0 && id > maxAudit) this.q.trimAudit.run({ upto: id - maxAudit });
    return id;
  }

  updateAuditDetail(id: number, detail: string): void {
    this.q.auditDetail.run({ id, detail });
  }

  listAudit(limit: number): AuditEvent[] {
    return this.q.listAudit.all({ limit }).reverse();
  }
}
