import type { SQL } from "bun";
import type { StoreDump } from "../relay/ports.ts";
import { encodeText, PACK, unpack } from "./pg-messages.ts";
import { byScopeAndKey, openQuestions, StoreNotEmptyError } from "./bulk.ts";
import { keyText, noNul } from "./pg-codes.ts";

/** Rows per insert statement when loading (keeps each statement's parameters small). */
const CHUNK = 5000;

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

/** Whole-database moves on PostgreSQL (BulkStore): the migrate verb's target and source. */
export class PgBulkQueries {
  constructor(private readonly sql: SQL) {}

  async isEmpty(): Promise<boolean> {
    const [r] = await this.sql`SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM codes) + (SELECT count(*) FROM audit)
      + (SELECT count(*) FROM room_status) + (SELECT count(*) FROM agent_cursors) AS n`;
    return Number(r.n) === 0;
  }

  async dumpAll(): Promise<StoreDump> {
    return this.sql.begin("isolation level repeatable read read only", async (tx) => {
      const messages = (await tx`SELECT ${tx.unsafe(PACK)} AS p FROM messages m ORDER BY m.id`).map((r: any) => unpack(r.p));
      const statuses = (await tx`SELECT room, status, closed_at, closed_by FROM room_status ORDER BY room COLLATE "C"`).map((r: any) => ({
        name: r.room, status: r.status, closedAtMs: r.closed_at === null ? null : Number(r.closed_at), closedBy: r.closed_by,
      }));
      const codes = (await tx`SELECT * FROM codes ORDER BY id`).map((r: any) => ({
        name: r.name, room: r.room, capabilities: r.capabilities, createdMs: Number(r.created), expiresMs: r.expires === null ? null : Number(r.expires),
        stored: r.stored, hashed: r.hashed, masked: r.display, lookup: r.lookup,
      }));
      const audit = (await tx`SELECT id, ts, action, actor, room, detail FROM audit ORDER BY id`).map((r: any) => ({
        id: Number(r.id), tsMs: Number(r.ts), action: r.action, actor: r.actor, room: r.room, detail: r.detail,
      }));
      const posters = (await tx`SELECT room, name, last_ts, first_seq FROM posters ORDER BY room COLLATE "C", name COLLATE "C"`).map((r: any) => ({
        room: r.room, name: r.name, lastTsMs: Number(r.last_ts), firstSeq: Number(r.first_seq),
      }));
      const agentRuns = (await tx`SELECT room, agent_run FROM rooms ORDER BY room COLLATE "C"`).map((r: any) => ({ room: r.room, agentRun: Number(r.agent_run) }));
      const cursors = (await tx`SELECT * FROM agent_cursors ORDER BY room COLLATE "C", name COLLATE "C"`).map((r: any) => ({
        room: r.room, name: r.name, deliveredSeq: Number(r.delivered_seq), deliveredMs: r.delivered_at === null ? null : Number(r.delivered_at),
        readSeq: Number(r.read_seq), readMs: r.read_at === null ? null : Number(r.read_at),
        seenSeq: Number(r.seen_seq), seenMs: r.seen_at === null ? null : Number(r.seen_at),
      }));
      const receiptMarks = (await tx`SELECT room, name, kind, seq, at FROM receipt_marks ORDER BY room COLLATE "C", name COLLATE "C", kind, seq`).map((r: any) => ({
        room: r.room, name: r.name, kind: r.kind, seq: Number(r.seq), atMs: Number(r.at),
      }));
      // Stored with keyText's "/" for the relay's U+0000 in the scope (room and name hold no "/"; keys, from a header, no U+0000).
      const idempotencyKeys = (await tx`SELECT scope, key, body_hash, message, created_at FROM idempotency_keys`).map((r: any) => ({
        scope: r.scope.replaceAll("/", "\u0000"), key: r.key, bodyHash: r.body_hash, message: r.message, createdMs: Number(r.created_at),
      })).sort(byScopeAndKey);
      return { messages, statuses, codes, audit, cursors, posters, agentRuns, receiptMarks, idempotencyKeys };
    });
  }

  /**
   * Loads a dump into an empty store in one transaction, exactly as SqliteStore's loadAll does:
   * messages in the dump's order (the all-rooms feed reads insertion order), audit ids kept,
   * then the room counters, posters (merged with the dump's) and open-question marks rebuilt.
   * Throws StoreNotEmptyError, writing nothing, when the store holds data.
   */
  async loadAll(dump: StoreDump): Promise<void> {
    await this.sql.begin(async (tx) => {
      // Two loads at once: the second waits, then finds the store no longer empty.
      await tx`LOCK TABLE messages IN EXCLUSIVE MODE`;
      const [{ n }] = await tx`SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM codes) + (SELECT count(*) FROM audit)
        + (SELECT count(*) FROM room_status) + (SELECT count(*) FROM agent_cursors) AS n`;
      if (Number(n) > 0) throw new StoreNotEmptyError("the target store is not empty; load into a fresh one");
      const open = openQuestions(dump.messages);
      for (const c of chunks(dump.messages)) {
        const texts = c.map((m) => encodeText(m.text));
        // Dumps from before issue 10 (and the 1.0 importer) carry no thread fields: roots, no lease. 0 and '' stand for none.
        await tx`INSERT INTO messages (room, seq, ts, from_name, to_name, text, escaped, expects_reply, claimed_by, open_q,
            reply_to, thread, lease_until, lapsed_by, lapse)
          SELECT room, seq, ts, f, t, x, e, x_r, nullif(cb0, ''), o, nullif(rt, 0), th, nullif(lu, 0), nullif(lb, ''), nullif(lp, '')
          FROM unnest(${c.map((m) => m.room)}::text[], ${c.map((m) => m.seq)}::bigint[],
            ${c.map((m) => m.tsMs)}::bigint[], ${c.map((m) => m.from)}::text[], ${c.map((m) => m.to)}::text[], ${texts.map((t) => t.text)}::text[],
            ${texts.map((t) => t.escaped)}::boolean[], ${c.map((m) => m.expectsReply)}::text[], ${c.map((m) => m.claimedBy ?? "")}::text[],
            ${c.map((m) => open.has(m))}::boolean[], ${c.map((m) => m.replyTo ?? 0)}::bigint[], ${c.map((m) => m.thread ?? m.seq)}::bigint[],
            ${c.map((m) => m.leaseUntilMs ?? 0)}::bigint[], ${c.map((m) => m.lapsedBy ?? "")}::text[], ${c.map((m) => m.lapse ?? "")}::text[])
            WITH ORDINALITY AS u(room, seq, ts, f, t, x, e, x_r, cb0, o, rt, th, lu, lb, lp, ord) ORDER BY ord`;
      }
      // The aggregates as the insert path leaves them: last_ts is the time of the highest seq;
      // agent_run without a dumped value: messages after the room's last one from `operator`.
      await tx`INSERT INTO rooms (room, last_seq, msg_count, last_ts, agent_run)
        SELECT m.room, m.seq, c.n, m.ts, (SELECT count(*) FROM messages x WHERE x.room = m.room AND x.seq > coalesce(
          (SELECT max(o.seq) FROM messages o WHERE o.room = m.room AND o.from_name = 'operator'), 0)) FROM messages m
        JOIN (SELECT room, max(seq) AS top, count(*) AS n FROM messages GROUP BY room) c ON m.room = c.room AND m.seq = c.top`;
      // first_seq: the poster's oldest kept message.
      await tx`INSERT INTO posters (room, name, last_ts, first_seq)
        SELECT DISTINCT ON (room, from_name) room, from_name, ts, min(seq) OVER (PARTITION BY room, from_name) FROM messages
        ORDER BY room, from_name, seq DESC`;
      for (const p of dump.posters ?? []) {
        await tx`INSERT INTO posters AS p (room, name, last_ts, first_seq) VALUES (${p.room}, ${p.name}, ${p.lastTsMs}, ${p.firstSeq ?? 0})
          ON CONFLICT (room, name) DO UPDATE SET last_ts = greatest(p.last_ts, excluded.last_ts), first_seq = least(p.first_seq, excluded.first_seq)`;
      }
      for (const r of dump.agentRuns ?? []) await tx`UPDATE rooms SET agent_run = ${r.agentRun} WHERE room = ${r.room}`;
      for (const st of dump.statuses) {
        await tx`INSERT INTO room_status (room, status, closed_at, closed_by) VALUES (${st.name}, ${st.status}, ${st.closedAtMs}, ${st.closedBy})`;
      }
      for (const c of dump.codes) {
        await tx`INSERT INTO codes (name, room, capabilities, created, expires, stored, hashed, display, lookup)
          VALUES (${c.name}, ${c.room}, ${noNul(c.capabilities)}, ${c.createdMs}, ${c.expiresMs}, ${c.stored}, ${c.hashed}, ${c.masked}, ${c.lookup})`;
      }
      for (const a of chunks(dump.audit)) {
        const withIds = a.every((e) => e.id !== undefined);
        if (withIds) {
          await tx`INSERT INTO audit (id, ts, action, actor, room, detail) SELECT * FROM unnest(${a.map((e) => e.id!)}::bigint[], ${a.map((e) => e.tsMs)}::bigint[],
            ${a.map((e) => e.action)}::text[], ${a.map((e) => e.actor)}::text[], ${a.map((e) => e.room)}::text[], ${a.map((e) => noNul(e.detail))}::text[])`;
        } else {
          await tx`INSERT INTO audit (ts, action, actor, room, detail) SELECT * FROM unnest(${a.map((e) => e.tsMs)}::bigint[],
            ${a.map((e) => e.action)}::text[], ${a.map((e) => e.actor)}::text[], ${a.map((e) => e.room)}::text[], ${a.map((e) => noNul(e.detail))}::text[])`;
        }
      }
      // Kept audit ids: the next new row continues after the highest.
      await tx`SELECT setval(pg_get_serial_sequence('audit', 'id'), greatest((SELECT max(id) FROM audit), 1), (SELECT count(*) > 0 FROM audit))`;
      for (const c of dump.cursors) {
        await tx`INSERT INTO agent_cursors (room, name, delivered_seq, delivered_at, read_seq, read_at, seen_seq, seen_at)
          VALUES (${c.room}, ${c.name}, ${c.deliveredSeq}, ${c.deliveredMs}, ${c.readSeq}, ${c.readMs}, ${c.seenSeq ?? 0}, ${c.seenMs ?? null})`;
      }
      for (const m of chunks(dump.receiptMarks ?? [])) {
        await tx`INSERT INTO receipt_marks (room, name, kind, seq, at) SELECT * FROM unnest(${m.map((r) => r.room)}::text[], ${m.map((r) => r.name)}::text[],
          ${m.map((r) => r.kind)}::text[], ${m.map((r) => r.seq)}::bigint[], ${m.map((r) => r.atMs)}::bigint[])`;
      }
      for (const k of chunks(dump.idempotencyKeys ?? [])) {
        await tx`INSERT INTO idempotency_keys (scope, key, body_hash, message, created_at) SELECT * FROM unnest(${k.map((r) => keyText(r.scope))}::text[],
          ${k.map((r) => keyText(r.key))}::text[], ${k.map((r) => r.bodyHash)}::text[], ${k.map((r) => r.message)}::text[], ${k.map((r) => r.createdMs)}::bigint[])`;
      }
    });
  }
}
