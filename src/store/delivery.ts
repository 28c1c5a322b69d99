import type { Database } from "bun:sqlite";
import type { LapsedLease, Message, ReceiptMark, ReceiptTimes } from "../relay/types.ts";

/** Claim leases, idempotency keys and receipt marks (schema step 3): every query of them, SQL beside it. */
export class DeliveryQueries {
  private readonly q;

  constructor(private readonly db: Database) {
    const p = <R>(sql: string) => db.query<R, any>(sql);
    this.q = {
      renew: p<{ n: number }>(`UPDATE messages SET lease_until = $until
        WHERE room = $room AND seq = $seq AND claimed_by = $name AND lease_until IS NOT NULL RETURNING 1 AS n`),
      release: p<{ n: number }>(`UPDATE messages SET lapsed_by = claimed_by, lapse = 'released', claimed_by = NULL, lease_until = NULL, open_q = 1
        WHERE room = $room AND seq = $seq AND claimed_by = $name AND lease_until IS NOT NULL RETURNING 1 AS n`),
      // RETURNING reports the new row, whose lapsed_by is the holder that was just cleared.
      expire: p<{ room: string; seq: number; lapsed_by: string }>(`UPDATE messages
        SET lapsed_by = claimed_by, lapse = 'expired', claimed_by = NULL, lease_until = NULL, open_q = 1
        WHERE lease_until IS NOT NULL AND lease_until <= $now RETURNING room, seq, lapsed_by`),
      anyDue: p<{ n: number }>("SELECT 1 AS n FROM messages WHERE lease_until IS NOT NULL AND lease_until <= $now LIMIT 1"),
      findKey: p<{ body_hash: string; message: string }>(`SELECT body_hash, message FROM idempotency_keys
        WHERE scope = $scope AND key = $key AND created_at >= $since`),
      purgeKeys: p("DELETE FROM idempotency_keys WHERE created_at < $cutoff"),
      markDelivered: p(`INSERT INTO receipt_marks (room, name, kind, seq, at) SELECT $room, $name, 'delivered', $seq, $at
        WHERE $seq > coalesce((SELECT seen_seq FROM agent_cursors WHERE room = $room AND name = $name), 0) ON CONFLICT DO NOTHING`),
      raiseSeen: p(`INSERT INTO agent_cursors (room, name, seen_seq, seen_at) VALUES ($room, $name, $seq, $at)
        ON CONFLICT (room, name) DO UPDATE SET seen_seq = excluded.seen_seq, seen_at = excluded.seen_at
        WHERE excluded.seen_seq > agent_cursors.seen_seq`),
      markRead: p(`INSERT INTO receipt_marks (room, name, kind, seq, at) SELECT $room, $name, 'read', $seq, $at
        WHERE $seq > coalesce((SELECT read_seq FROM agent_cursors WHERE room = $room AND name = $name), 0) ON CONFLICT DO NOTHING`),
      raiseRead: p(`INSERT INTO agent_cursors (room, name, read_seq, read_at) VALUES ($room, $name, $seq, $at)
        ON CONFLICT (room, name) DO UPDATE SET read_seq = excluded.read_seq, read_at = excluded.read_at
        WHERE excluded.read_seq > agent_cursors.read_seq`),
      times: p<{ name: string; kind: string; at: number }>(`SELECT name, kind, min(at) AS at FROM receipt_marks
        WHERE room = $room AND seq >= $seq GROUP BY name, kind`),
    };
  }

  renewLease(room: string, seq: number, name: string, untilMs: number): boolean {
    return this.q.renew.get({ room, seq, name, until: untilMs }) !== null;
  }

  releaseLease(room: string, seq: number, name: string): boolean {
    return this.q.release.get({ room, seq, name }) !== null;
  }

  /** Reads before it writes: views call this on every request, and almost always nothing is due. */
  expireLeases(nowMs: number): LapsedLease[] {
    if (!this.q.anyDue.get({ now: nowMs })) return [];
    return this.q.expire.all({ now: nowMs }).map((r) => ({ room: r.room, seq: r.seq, holder: r.lapsed_by }));
  }

  findIdempotent(scope: string, key: string, sinceMs: number): { bodyHash: string; message: Message } | null {
    const row = this.q.findKey.get({ scope, key, since: sinceMs });
    return row ? { bodyHash: row.body_hash, message: JSON.parse(row.message) as Message } : null;
  }

  purgeIdempotencyKeys(cutoffMs: number): number {
    return this.q.purgeKeys.run({ cutoff: cutoffMs }).changes;
  }

  /**
   * One transaction for the whole batch (up to a second of poll answers). Each mark is checked
   * against the agent's mark as it stood before the batch, and each agent's marks are raised once,
   * to the batch's highest: marks arrive in rising order per agent and kind (DeliveryLog keeps only
   * rises), and a delivered mark the progressive check would have skipped (a read below a delivery
   * of the same batch) is later than that delivery, so no receipt time changes.
   */
  recordReceipts(marks: ReceiptMark[]): void {
    const seen = new Map<string, ReceiptMark>();
    const read = new Map<string, ReceiptMark>();
    const highest = (to: Map<string, ReceiptMark>, m: ReceiptMark) => {
      const key = `${m.room}\u0000${m.name}`;
      const had = to.get(key);
      if (!had || m.seq > had.seq) to.set(key, m);
    };
    const args = (m: ReceiptMark) => ({ room: m.room, name: m.name, seq: m.seq, at: m.atMs });
    this.db.transaction(() => {
      for (const m of marks) {
        if (m.kind === "read") {
          this.q.markRead.run(args(m));
          highest(read, m);
        }
        // A read message was in the agent's hands, so a read raises the delivered mark too.
        this.q.markDelivered.run(args(m));
        highest(seen, m);
      }
      for (const m of read.values()) this.q.raiseRead.run(args(m));
      for (const m of seen.values()) this.q.raiseSeen.run(args(m));
    }).immediate();
  }

  receiptTimes(room: string, seq: number): ReceiptTimes[] {
    const byName = new Map<string, ReceiptTimes>();
    for (const r of this.q.times.all({ room, seq })) {
      const t = byName.get(r.name) ?? { name: r.name, deliveredMs: null, readMs: null };
      if (r.kind === "read") t.readMs = r.at;
      else t.deliveredMs = r.at;
      byName.set(r.name, t);
    }
    return [...byName.values()];
  }
}
