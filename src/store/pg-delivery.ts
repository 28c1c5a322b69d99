import type { SQL } from "bun";
import { keyText } from "./pg-codes.ts";
import type { LapsedLease, Message, ReceiptMark, ReceiptTimes } from "../relay/types.ts";

/**
 * Claim leases, idempotency keys and receipt marks on PostgreSQL (schema step 3), with
 * SQLite's rules. Lease changes NOTIFY their rooms, so other instances drop their cached copy.
 */
export class PgDeliveryQueries {
  constructor(private readonly sql: SQL) {}

  async renewLease(room: string, seq: number, name: string, untilMs: number): Promise<boolean> {
    const rows = await this.sql`WITH u AS (UPDATE messages SET lease_until = ${untilMs}
      WHERE room = ${room} AND seq = ${seq} AND claimed_by = ${name} AND lease_until IS NOT NULL RETURNING room)
      SELECT pg_notify(argy_channel(), u.room) FROM u`;
    return rows.length > 0;
  }

  async releaseLease(room: string, seq: number, name: string): Promise<boolean> {
    const rows = await this.sql`WITH u AS (UPDATE messages SET lapsed_by = claimed_by, lapse = 'released', claimed_by = NULL, lease_until = NULL, open_q = true
      WHERE room = ${room} AND seq = ${seq} AND claimed_by = ${name} AND lease_until IS NOT NULL RETURNING room)
      SELECT pg_notify(argy_channel(), u.room) FROM u`;
    return rows.length > 0;
  }

  /** Reads before it writes: views call this on every request, and almost always nothing is due. */
  async expireLeases(nowMs: number): Promise<LapsedLease[]> {
    const due = await this.sql`SELECT 1 FROM messages WHERE lease_until IS NOT NULL AND lease_until <= ${nowMs} LIMIT 1`;
    if (!due.length) return [];
    // Two instances expiring at once: the row lock lets one of them report each lease.
    const rows = await this.sql`WITH e AS (UPDATE messages SET lapsed_by = claimed_by, lapse = 'expired', claimed_by = NULL, lease_until = NULL, open_q = true
      WHERE lease_until IS NOT NULL AND lease_until <= ${nowMs} RETURNING room, seq, lapsed_by)
      SELECT e.room, e.seq, e.lapsed_by, pg_notify(argy_channel(), e.room) FROM e`;
    return rows.map((r: any) => ({ room: r.room, seq: Number(r.seq), holder: r.lapsed_by }));
  }

  async findIdempotent(scope: string, key: string, sinceMs: number): Promise<{ bodyHash: string; message: Message } | null> {
    const [r] = await this.sql`SELECT body_hash, message FROM idempotency_keys WHERE scope = ${keyText(scope)} AND key = ${keyText(key)} AND created_at >= ${sinceMs}`;
    return r ? { bodyHash: r.body_hash, message: JSON.parse(r.message) as Message } : null;
  }

  async purgeIdempotencyKeys(cutoffMs: number): Promise<number> {
    return (await this.sql`DELETE FROM idempotency_keys WHERE created_at < ${cutoffMs} RETURNING 1`).length;
  }

  /**
   * One transaction for the batch, equal to SQLite's mark-by-mark loop: a mark counts when it
   * raises the agent's high-water mark, so within the batch only marks above every earlier one
   * of the same agent can (filtered here), and the statements add "above the stored mark".
   * A read also counts as delivered.
   */
  async recordReceipts(marks: ReceiptMark[]): Promise<void> {
    const rising = (list: ReceiptMark[]) => {
      const top = new Map<string, number>();
      return list.filter((m) => {
        const k = `${m.room}\u0000${m.name}`;
        if (m.seq <= (top.get(k) ?? 0)) return false;
        top.set(k, m.seq);
        return true;
      });
    };
    const reads = rising(marks.filter((m) => m.kind === "read"));
    const delivered = rising(marks);
    await this.sql.begin(async (tx) => {
      if (reads.length) {
        await this.marks(tx, reads, "read");
        await tx`INSERT INTO agent_cursors AS c (room, name, read_seq, read_at)
          SELECT DISTINCT ON (room, name) room, name, seq, at FROM unnest(${reads.map((m) => m.room)}::text[], ${reads.map((m) => m.name)}::text[],
            ${reads.map((m) => m.seq)}::bigint[], ${reads.map((m) => m.atMs)}::bigint[]) AS u(room, name, seq, at) ORDER BY room, name, seq DESC
          ON CONFLICT (room, name) DO UPDATE SET read_seq = excluded.read_seq, read_at = excluded.read_at WHERE excluded.read_seq > c.read_seq`;
      }
      await this.marks(tx, delivered, "delivered");
      await tx`INSERT INTO agent_cursors AS c (room, name, seen_seq, seen_at)
        SELECT DISTINCT ON (room, name) room, name, seq, at FROM unnest(${delivered.map((m) => m.room)}::text[], ${delivered.map((m) => m.name)}::text[],
          ${delivered.map((m) => m.seq)}::bigint[], ${delivered.map((m) => m.atMs)}::bigint[]) AS u(room, name, seq, at) ORDER BY room, name, seq DESC
        ON CONFLICT (room, name) DO UPDATE SET seen_seq = excluded.seen_seq, seen_at = excluded.seen_at WHERE excluded.seen_seq > c.seen_seq`;
    });
  }

  /** Inserts the marks that rise above the agent's stored mark of `kind` (read_seq or seen_seq). */
  private async marks(tx: SQL, list: ReceiptMark[], kind: "read" | "delivered"): Promise<void> {
    const rooms = list.map((m) => m.room), names = list.map((m) => m.name), seqs = list.map((m) => m.seq), ats = list.map((m) => m.atMs);
    if (kind === "read") {
      await tx`INSERT INTO receipt_marks (room, name, kind, seq, at)
        SELECT u.room, u.name, 'read', u.seq, u.at FROM unnest(${rooms}::text[], ${names}::text[], ${seqs}::bigint[], ${ats}::bigint[]) AS u(room, name, seq, at)
        WHERE u.seq > coalesce((SELECT c.read_seq FROM agent_cursors c WHERE c.room = u.room AND c.name = u.name), 0) ON CONFLICT DO NOTHING`;
    } else {
      await tx`INSERT INTO receipt_marks (room, name, kind, seq, at)
        SELECT u.room, u.name, 'delivered', u.seq, u.at FROM unnest(${rooms}::text[], ${names}::text[], ${seqs}::bigint[], ${ats}::bigint[]) AS u(room, name, seq, at)
        WHERE u.seq > coalesce((SELECT c.seen_seq FROM agent_cursors c WHERE c.room = u.room AND c.name = u.name), 0) ON CONFLICT DO NOTHING`;
    }
  }

  async receiptTimes(room: string, seq: number): Promise<ReceiptTimes[]> {
    const byName = new Map<string, ReceiptTimes>();
    for (const r of await this.sql`SELECT name, kind, min(at) AS at FROM receipt_marks WHERE room = ${room} AND seq >= ${seq} GROUP BY name, kind`) {
      const t = byName.get(r.name) ?? { name: r.name, deliveredMs: null, readMs: null };
      if (r.kind === "read") t.readMs = Number(r.at);
      else t.deliveredMs = Number(r.at);
      byName.set(r.name, t);
    }
    return [...byName.values()];
  }
}
