import type { SQL } from "bun";
import type { AccessCode, AuditEvent, InsertCodeInput, InsertCodeResult } from "../relay/types.ts";
import { LOCK_CODES } from "./pg-migrations.ts";

interface CodeRow {
  id: string; name: string; room: string; capabilities: string; created: string;
  expires: string | null; stored: string; hashed: boolean; display: string; lookup: string;
}

const toCode = (r: CodeRow): AccessCode => ({
  id: Number(r.id), name: r.name, room: r.room, capabilities: r.capabilities, createdMs: Number(r.created),
  expiresMs: r.expires === null ? null : Number(r.expires), stored: r.stored, hashed: r.hashed, display: r.hashed ? r.display : r.stored,
});

/** PostgreSQL text cannot hold U+0000; free-form fields other than message texts get U+FFFD instead. */
export const noNul = (s: string): string => s.replaceAll("\u0000", "\uFFFD");

/** The relay joins room and name with U+0000 in keys (rate, idempotency scope); "/" is in neither. */
export const keyText = (s: string): string => s.replaceAll("\u0000", "/");

/** Access codes and the audit log on PostgreSQL: every query of them, SQL beside it. */
export class PgCodeQueries {
  constructor(private readonly sql: SQL) {}

  /** Quota and name checks and the insert under one advisory lock, so two instances cannot both pass them. */
  insertCode(input: InsertCodeInput): Promise<InsertCodeResult> {
    return this.sql.begin(async (tx): Promise<InsertCodeResult> => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_CODES}::bigint)`;
      if (input.maxCodes > 0) {
        const [{ n }] = await tx`SELECT count(*)::int AS n FROM codes`;
        if (n >= input.maxCodes) return { ok: false, reason: "code_quota" };
      }
      const taken = await tx`SELECT 1 FROM codes WHERE room = ${input.room} AND name = ${input.name}
        AND (expires IS NULL OR expires > ${input.createdMs}) LIMIT 1`;
      if (taken.length) return { ok: false, reason: "name_taken" };
      const [row] = await tx`INSERT INTO codes (name, room, capabilities, created, expires, stored, hashed, display, lookup)
        VALUES (${input.name}, ${input.room}, ${noNul(input.capabilities)}, ${input.createdMs}, ${input.expiresMs}, ${input.stored},
          ${input.hashed}, ${input.masked}, ${input.lookup}) RETURNING *`;
      return { ok: true, code: toCode(row) };
    });
  }

  /** The code (lowest id) of each presented hash, in one query; a hash without one is absent. */
  async findCodes(presentedHashes: string[]): Promise<Map<string, AccessCode>> {
    const rows = presentedHashes.length === 1
      ? await this.sql`SELECT * FROM codes WHERE lookup = ${presentedHashes[0]!} ORDER BY id LIMIT 1`
      : await this.sql`SELECT DISTINCT ON (lookup) * FROM codes WHERE lookup = ANY(${presentedHashes}::text[]) ORDER BY lookup, id`;
    return new Map(rows.map((r: CodeRow) => [r.lookup, toCode(r)]));
  }

  async listCodes(): Promise<AccessCode[]> {
    return (await this.sql`SELECT * FROM codes ORDER BY created, id`).map(toCode);
  }

  async countCodes(): Promise<number> {
    return (await this.sql`SELECT count(*)::int AS n FROM codes`)[0].n;
  }

  /** Names holding an unexpired code for the room. */
  async codeHolders(room: string, nowMs: number): Promise<string[]> {
    const rows = await this.sql`SELECT DISTINCT name FROM codes WHERE room = ${room} AND (expires IS NULL OR expires > ${nowMs})`;
    return rows.map((r: { name: string }) => r.name);
  }

  deleteCodes(target: string, targetHash: string, room: string | null): Promise<{ count: number; matchedByCode: boolean }> {
    return this.sql.begin(async (tx) => {
      // A code of another room than `room` is still a secret: report it so the audit masks it.
      const isCode = (await tx`SELECT 1 FROM codes WHERE lookup = ${targetHash} LIMIT 1`).length > 0;
      const byCode = await tx`DELETE FROM codes WHERE lookup = ${targetHash} AND (${room}::text IS NULL OR room = ${room}) RETURNING 1`;
      const byName = await tx`DELETE FROM codes WHERE name = ${target} AND (${room}::text IS NULL OR room = ${room}) RETURNING 1`;
      return { count: byCode.length + byName.length, matchedByCode: isCode };
    });
  }

  /** `lookup` already holds the SHA-256 of the code, which is exactly the hashed stored form. */
  async hashPlaintextCodes(): Promise<number> {
    return (await this.sql`UPDATE codes SET stored = lookup, hashed = true WHERE NOT hashed RETURNING 1`).length;
  }

  async purgeExpiredCodes(cutoffMs: number): Promise<number> {
    return (await this.sql`DELETE FROM codes WHERE expires IS NOT NULL AND expires < ${cutoffMs} RETURNING 1`).length;
  }

  async insertAudit(e: AuditEvent, maxAudit: number): Promise<number> {
    const [{ id }] = await this.sql`INSERT INTO audit (ts, action, actor, room, detail)
      VALUES (${e.tsMs}, ${e.action}, ${e.actor}, ${e.room}, ${noNul(e.detail)}) RETURNING id`;
    const n = Number(id);
    if (maxAudit > 0 && n > maxAudit) await this.sql`DELETE FROM audit WHERE id <= ${n - maxAudit}`;
    return n;
  }

  async updateAuditDetail(id: number, detail: string): Promise<void> {
    await this.sql`UPDATE audit SET detail = ${noNul(detail)} WHERE id = ${id}`;
  }

  async listAudit(limit: number): Promise<AuditEvent[]> {
    const rows = await this.sql`SELECT id, ts, action, actor, room, detail FROM audit ORDER BY id DESC LIMIT ${limit}`;
    return rows.reverse().map((r: any) => ({ id: Number(r.id), tsMs: Number(r.ts), action: r.action, actor: r.actor, room: r.room, detail: r.detail }));
  }
}
