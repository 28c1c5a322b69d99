import type { Database } from "bun:sqlite";
import type { Message } from "../relay/types.ts";
import type { StoreDump, StoredIdempotencyKey } from "../relay/ports.ts";
import { toMessage, toStatus } from "./messages.ts";

/** The order dumps list idempotency keys in, in both stores (their SQL collations differ): code units. */
export const byScopeAndKey = (a: StoredIdempotencyKey, b: StoredIdempotencyKey): number =>
  a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

/** Thrown by `loadAll` when the target already holds data; nothing was written. */
export class StoreNotEmptyError extends Error {
  override name = "StoreNotEmptyError";
}

/**
 * Which questions are still open, exactly as the insert path's answer-marks leave them: a
 * question is answered by any later post of the party it names, or for `anyone`, of anyone
 * but the asker. One backward pass per room instead of a scan per question.
 */
export function openQuestions(messages: readonly Message[]): Set<Message> {
  const byRoom = new Map<string, Message[]>();
  for (const m of messages) {
    let list = byRoom.get(m.room);
    if (!list) byRoom.set(m.room, (list = []));
    list.push(m);
  }
  const open = new Set<Message>();
  for (const list of byRoom.values()) {
    list.sort((a, b) => b.seq - a.seq);
    const laterPosters = new Set<string>();
    for (const m of list) {
      if (m.expectsReply !== "none") {
        const answered = m.expectsReply === "anyone"
          ? laterPosters.size > 1 || (laterPosters.size === 1 && !laterPosters.has(m.from))
          : laterPosters.has(m.expectsReply);
        if (!answered) open.add(m);
      }
      laterPosters.add(m.from);
    }
  }
  return open;
}

/** Whole-database reads and writes for import and migrate (the BulkStore port); SQL beside it. */
export class BulkQueries {
  private readonly q;

  constructor(private readonly db: Database) {
    const p = <R>(sql: string) => db.query<R, any>(sql);
    this.q = {
      anything: p<{ one: number }>(`SELECT 1 AS one WHERE EXISTS (SELECT 1 FROM messages) OR EXISTS (SELECT 1 FROM room_status)
        OR EXISTS (SELECT 1 FROM codes) OR EXISTS (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM agent_cursors)`),
      messages: p<Parameters<typeof toMessage>[0]>(`SELECT room, seq, ts, from_name, to_name, text, expects_reply, claimed_by,
        reply_to, thread, lease_until, lapsed_by, lapse FROM messages ORDER BY id`),
      statuses: p<{ room: string; status: "open" | "closed"; closed_at: number | null; closed_by: string | null }>(
        "SELECT room, status, closed_at, closed_by FROM room_status ORDER BY room"),
      codes: p<{ name: string; room: string; capabilities: string; created: number; expires: number | null; stored: string; hashed: number; display: string; lookup: string }>(
        "SELECT name, room, capabilities, created, expires, stored, hashed, display, lookup FROM codes ORDER BY id"),
      audit: p<{ id: number; ts: number; action: string; actor: string; room: string; detail: string }>(
        "SELECT id, ts, action, actor, room, detail FROM audit ORDER BY id"),
      cursors: p<{
        room: string; name: string; delivered_seq: number; delivered_at: number | null; read_seq: number; read_at: number | null;
        seen_seq: number; seen_at: number | null;
      }>("SELECT room, name, delivered_seq, delivered_at, read_seq, read_at, seen_seq, seen_at FROM agent_cursors ORDER BY room, name"),
      insertMessage: p(`INSERT INTO messages (room, seq, ts, from_name, to_name, text, expects_reply, claimed_by, open_q,
        reply_to, thread, lease_until, lapsed_by, lapse)
        VALUES ($room, $seq, $ts, $from_name, $to_name, $text, $expects_reply, $claimed_by, $open_q,
        $reply_to, $thread, $lease_until, $lapsed_by, $lapse)`),
      insertStatus: p("INSERT INTO room_status (room, status, closed_at, closed_by) VALUES ($room, $status, $closed_at, $closed_by)"),
      insertCode: p(`INSERT INTO codes (name, room, capabilities, created, expires, stored, hashed, display, lookup)
        VALUES ($name, $room, $capabilities, $created, $expires, $stored, $hashed, $display, $lookup)`),
      insertAudit: p("INSERT INTO audit (id, ts, action, actor, room, detail) VALUES ($id, $ts, $action, $actor, $room, $detail)"),
      insertCursor: p(`INSERT INTO agent_cursors (room, name, delivered_seq, delivered_at, read_seq, read_at, seen_seq, seen_at)
        VALUES ($room, $name, $delivered_seq, $delivered_at, $read_seq, $read_at, $seen_seq, $seen_at)`),
      // The aggregates as the insert path leaves them: last_ts is the time of the highest seq.
      // agent_run (the loop guard's count) without a dumped value: messages after the room's last
      // one from `operator`; an operator post under another sender name counts as an agent's here.
      rebuildRooms: p(`INSERT INTO rooms (room, last_seq, msg_count, last_ts, agent_run)
        SELECT m.room, m.seq, c.n, m.ts, (SELECT count(*) FROM messages x WHERE x.room = m.room AND x.seq > coalesce(
          (SELECT max(o.seq) FROM messages o WHERE o.room = m.room AND o.from_name = 'operator'), 0)) FROM messages m
        JOIN (SELECT room, max(seq) AS top, count(*) AS n FROM messages GROUP BY room) c ON m.room = c.room AND m.seq = c.top`),
      posters: p<{ room: string; name: string; last_ts: number; first_seq: number }>("SELECT room, name, last_ts, first_seq FROM posters ORDER BY room, name"),
      // A poster whose messages retention pruned keeps its row; the newer time and the older first seq win.
      mergePoster: p(`INSERT INTO posters (room, name, last_ts, first_seq) VALUES ($room, $name, $last_ts, $first_seq)
        ON CONFLICT (room, name) DO UPDATE SET last_ts = max(last_ts, excluded.last_ts), first_seq = min(first_seq, excluded.first_seq)`),
      // first_seq: the poster's oldest kept message (receipts' "members as of the post").
      agentRuns: p<{ room: string; agent_run: number }>("SELECT room, agent_run FROM rooms ORDER BY room"),
      marks: p<{ room: string; name: string; kind: "delivered" | "read"; seq: number; at: number }>("SELECT room, name, kind, seq, at FROM receipt_marks ORDER BY room, name, kind, seq"),
      insertMark: p("INSERT INTO receipt_marks (room, name, kind, seq, at) VALUES ($room, $name, $kind, $seq, $at)"),
      keys: p<{ scope: string; key: string; body_hash: string; message: string; created_at: number }>(
        "SELECT scope, key, body_hash, message, created_at FROM idempotency_keys"),
      insertKey: p("INSERT INTO idempotency_keys (scope, key, body_hash, message, created_at) VALUES ($scope, $key, $hash, $message, $ts)"),
      setAgentRun: p("UPDATE rooms SET agent_run = $run WHERE room = $room"),
      rebuildPosters: p(`INSERT INTO posters (room, name, last_ts, first_seq)
        SELECT room, from_name, ts, first FROM (SELECT room, from_name, ts,
          row_number() OVER (PARTITION BY room, from_name ORDER BY seq DESC) AS rn,
          min(seq) OVER (PARTITION BY room, from_name) AS first FROM messages) WHERE rn = 1`),
    };
  }

  /** True when the store holds no messages, statuses, codes, audit rows or cursors. */
  isEmpty(): boolean {
    return this.q.anything.get({}) === null;
  }

  /** Everything, read in one snapshot; messages and audit in insertion order. */
  dumpAll(): StoreDump {
    return this.db.transaction((): StoreDump => ({
      messages: this.q.messages.all({}).map(toMessage),
      statuses: this.q.statuses.all({}).map((r) => toStatus(r.room, r)),
      codes: this.q.codes.all({}).map((r) => ({
        name: r.name, room: r.room, capabilities: r.capabilities, createdMs: r.created, expiresMs: r.expires,
        stored: r.stored, hashed: r.hashed === 1, masked: r.display, lookup: r.lookup,
      })),
      audit: this.q.audit.all({}).map((r) => ({ id: r.id, tsMs: r.ts, action: r.action, actor: r.actor, room: r.room, detail: r.detail })),
      cursors: this.q.cursors.all({}).map((r) => ({
        room: r.room, name: r.name, deliveredSeq: r.delivered_seq, deliveredMs: r.delivered_at, readSeq: r.read_seq, readMs: r.read_at,
        seenSeq: r.seen_seq, seenMs: r.seen_at,
      })),
      posters: this.q.posters.all({}).map((r) => ({ room: r.room, name: r.name, lastTsMs: r.last_ts, firstSeq: r.first_seq })),
      agentRuns: this.q.agentRuns.all({}).map((r) => ({ room: r.room, agentRun: r.agent_run })),
      receiptMarks: this.q.marks.all({}).map((r) => ({ room: r.room, name: r.name, kind: r.kind, seq: r.seq, atMs: r.at })),
      idempotencyKeys: this.q.keys.all({})
        .map((r) => ({ scope: r.scope, key: r.key, bodyHash: r.body_hash, message: r.message, createdMs: r.created_at })).sort(byScopeAndKey),
    })).deferred();
  }

  /**
   * Writes `dump` into this empty database in one immediate transaction (receipt marks and
   * idempotency keys as they are), then rebuilds the room aggregates, posters and open-question marks from the messages. Throws
   * StoreNotEmptyError (writing nothing) when the database already holds data; any failing row
   * rolls the whole load back.
   */
  loadAll(dump: StoreDump): void {
    this.db.transaction(() => {
      if (!this.isEmpty()) throw new StoreNotEmptyError("the target store is not empty; load into a fresh one");
      const open = openQuestions(dump.messages);
      // Inserted in the dump's order: the all-rooms admin feed reads insertion order.
      for (const m of dump.messages) {
        this.q.insertMessage.run({
          room: m.room, seq: m.seq, ts: m.tsMs, from_name: m.from, to_name: m.to, text: m.text,
          expects_reply: m.expectsReply, claimed_by: m.claimedBy, open_q: open.has(m) ? 1 : 0,
          // Dumps from before issue 10 (and the 1.0 importer) carry no thread fields: roots, no lease.
          reply_to: m.replyTo ?? null, thread: m.thread ?? m.seq, lease_until: m.leaseUntilMs ?? null,
          lapsed_by: m.lapsedBy ?? null, lapse: m.lapse ?? null,
        });
      }
      this.q.rebuildRooms.run({});
      for (const r of dump.agentRuns ?? []) this.q.setAgentRun.run({ room: r.room, run: r.agentRun });
      this.q.rebuildPosters.run({});
      for (const p of dump.posters ?? []) this.q.mergePoster.run({ room: p.room, name: p.name, last_ts: p.lastTsMs, first_seq: p.firstSeq ?? 0 });
      for (const s of dump.statuses) {
        this.q.insertStatus.run({ room: s.name, status: s.status, closed_at: s.closedAtMs, closed_by: s.closedBy });
      }
      for (const c of dump.codes) {
        this.q.insertCode.run({
          name: c.name, room: c.room, capabilities: c.capabilities, created: c.createdMs, expires: c.expiresMs,
          stored: c.stored, hashed: c.hashed ? 1 : 0, display: c.masked, lookup: c.lookup,
        });
      }
      for (const a of dump.audit) {
        this.q.insertAudit.run({ id: a.id ?? null, ts: a.tsMs, action: a.action, actor: a.actor, room: a.room, detail: a.detail });
      }
      for (const c of dump.cursors) {
        this.q.insertCursor.run({
          room: c.room, name: c.name, delivered_seq: c.deliveredSeq, delivered_at: c.deliveredMs, read_seq: c.readSeq, read_at: c.readMs,
          seen_seq: c.seenSeq ?? 0, seen_at: c.seenMs ?? null,
        });
      }
      for (const m of dump.receiptMarks ?? []) this.q.insertMark.run({ room: m.room, name: m.name, kind: m.kind, seq: m.seq, at: m.atMs });
      for (const k of dump.idempotencyKeys ?? []) {
        this.q.insertKey.run({ scope: k.scope, key: k.key, hash: k.bodyHash, message: k.message, ts: k.createdMs });
      }
    }).immediate();
  }
}
