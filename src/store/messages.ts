import type { Database } from "bun:sqlite";
import type {
  InsertMessageInput, InsertMessageResult, Message, PosterRow, RoomSnapshot, RoomStatus, RoomSummary,
} from "../relay/types.ts";
import { openStatus } from "../relay/rooms.ts";

/** A `messages` row as its columns are named. */
export interface MessageRow {
  room: string; seq: number; ts: number; from_name: string; to_name: string; text: string;
  expects_reply: string; claimed_by: string | null; reply_to: number | null; thread: number | null;
  lease_until: number | null; lapsed_by: string | null; lapse: string | null;
}
interface StatusRow { room: string; status: "open" | "closed"; closed_at: number | null; closed_by: string | null }
interface RoomRow { room: string; last_seq: number; msg_count: number; last_ts: number; agent_run: number }

const COLUMNS = "room, seq, ts, from_name, to_name, text, expects_reply, claimed_by, reply_to, thread, lease_until, lapsed_by, lapse";

/** A stored row as the domain's Message. */
export const toMessage = (r: MessageRow): Message => ({
  room: r.room, seq: r.seq, tsMs: r.ts, from: r.from_name, to: r.to_name, text: r.text,
  expectsReply: r.expects_reply, claimedBy: r.claimed_by, replyTo: r.reply_to, thread: r.thread ?? r.seq,
  leaseUntilMs: r.lease_until, lapsedBy: r.lapsed_by, lapse: r.lapse === "expired" || r.lapse === "released" ? r.lapse : null,
});

/** A room's status, open when no record says otherwise. */
export const toStatus = (room: string, r: StatusRow | null): RoomStatus =>
  r ? { name: room, status: r.status, closedAtMs: r.closed_at, closedBy: r.closed_by }
    : openStatus(room);

/** Messages, room aggregates, statuses and posters: every query of them, SQL beside it. */
export class MessageQueries {
  private readonly q;

  constructor(private readonly db: Database) {
    const p = <R>(sql: string) => db.query<R, any>(sql);
    this.q = {
      status: p<StatusRow>("SELECT room, status, closed_at, closed_by FROM room_status WHERE room = $room"),
      allStatuses: p<StatusRow>("SELECT room, status, closed_at, closed_by FROM room_status ORDER BY room"),
      upsertStatus: p(`INSERT INTO room_status (room, status, closed_at, closed_by) VALUES ($room, $status, $closed_at, $closed_by)
        ON CONFLICT (room) DO UPDATE SET status = excluded.status, closed_at = excluded.closed_at, closed_by = excluded.closed_by`),
      room: p<RoomRow>("SELECT room, last_seq, msg_count, last_ts, agent_run FROM rooms WHERE room = $room"),
      roomsWithMessages: p<{ n: number }>("SELECT count(*) AS n FROM rooms WHERE msg_count > 0"),
      summaries: p<RoomRow>("SELECT room, last_seq, msg_count, last_ts, agent_run FROM rooms WHERE msg_count > 0"),
      countMessages: p<{ n: number | null }>("SELECT sum(msg_count) AS n FROM rooms"),
      insert: p(`INSERT INTO messages (room, seq, ts, from_name, to_name, text, expects_reply, open_q, reply_to, thread)
        VALUES ($room, $seq, $ts, $from_name, $to_name, $text, $expects_reply, $open_q, $reply_to, $thread)`),
      // The holder's reply completes its lease: a reply in the question's thread position
      // (reply_to = seq) or a DM to the asker. The claim stays; the lease no longer runs out.
      // INDEXED BY: otherwise the planner walks the whole room by (room, seq) on every post.
      complete: p(`UPDATE messages INDEXED BY messages_lease_holder SET lease_until = NULL, open_q = 0
        WHERE room = $room AND claimed_by = $from_name AND lease_until IS NOT NULL AND (seq = $reply_to OR from_name = $to_name)`),
      // Any later post by the addressed party answers a named question; for `anyone`, a post by anyone but the asker.
      answer: p(`UPDATE messages INDEXED BY messages_open_expecting SET open_q = 0
        WHERE room = $room AND expects_reply IN ($from_name, 'anyone') AND open_q = 1 AND seq < $seq
        AND (expects_reply <> 'anyone' OR from_name <> $from_name)`),
      prune: p("DELETE FROM messages WHERE room = $room AND seq <= $upto"),
      // A mark at seq k only speaks for messages <= k, so marks at or below the pruned floor say nothing any more.
      pruneMarks: p("DELETE FROM receipt_marks WHERE room = $room AND seq <= $upto"),
      upsertRoom: p(`INSERT INTO rooms (room, last_seq, msg_count, last_ts, agent_run) VALUES ($room, $seq, $count, $ts, $run)
        ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq, msg_count = excluded.msg_count, last_ts = excluded.last_ts,
        agent_run = excluded.agent_run`),
      resetRun: p("UPDATE rooms SET agent_run = 0 WHERE room = $room"),
      upsertPoster: p(`INSERT INTO posters (room, name, last_ts, first_seq) VALUES ($room, $name, $ts, $seq)
        ON CONFLICT (room, name) DO UPDATE SET last_ts = excluded.last_ts`),
      keyExists: p<{ n: number }>("SELECT 1 AS n FROM idempotency_keys WHERE scope = $scope AND key = $key AND created_at >= $since"),
      insertKey: p(`INSERT INTO idempotency_keys (scope, key, body_hash, message, created_at) VALUES ($scope, $key, $hash, $message, $ts)
        ON CONFLICT (scope, key) DO UPDATE SET body_hash = excluded.body_hash, message = excluded.message, created_at = excluded.created_at`),
      since: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room AND seq > $since
        AND from_name <> $viewer AND (to_name = 'all' OR to_name = $viewer) ORDER BY seq`),
      tail: p<MessageRow>(`SELECT * FROM (SELECT ${COLUMNS} FROM messages WHERE room = $room ORDER BY seq DESC LIMIT $limit) ORDER BY seq`),
      history: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room
        AND (to_name = 'all' OR to_name = $viewer OR from_name = $viewer) ORDER BY seq DESC LIMIT $limit`),
      thread: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room AND thread = $thread
        AND (to_name = 'all' OR to_name = $viewer OR from_name = $viewer) ORDER BY seq DESC LIMIT $limit`),
      one: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room AND seq = $seq`),
      claim: p(`UPDATE messages SET claimed_by = $name, lease_until = $until, lapsed_by = NULL, lapse = NULL
        WHERE room = $room AND seq = $seq AND claimed_by IS NULL`),
      holder: p<{ claimed_by: string | null }>("SELECT claimed_by FROM messages WHERE room = $room AND seq = $seq"),
      roomNewest: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room AND seq < $before ORDER BY seq DESC LIMIT $limit`),
      allNewest: p<MessageRow>(`SELECT ${COLUMNS} FROM messages ORDER BY id DESC LIMIT $limit`),
      waiting: p<MessageRow>(`SELECT ${COLUMNS} FROM messages m WHERE open_q = 1 AND from_name <> 'operator'
        AND NOT EXISTS (SELECT 1 FROM room_status s WHERE s.room = m.room AND s.status = 'closed')
        ORDER BY ts, room, seq LIMIT $limit`),
      posters: p<{ room: string; name: string; last_ts: number; first_seq: number }>("SELECT room, name, last_ts, first_seq FROM posters"),
      roomPosters: p<{ name: string }>("SELECT name FROM posters WHERE room = $room"),
    };
  }

  /**
   * Inserts a batch of posts in ONE immediate transaction, each with its own closed check, quota,
   * seq, retention and aggregates, in order. One commit for many posts is what makes concurrent
   * senders cheap; every caller still learns its result only after the commit.
   */
  insertMessages(inputs: InsertMessageInput[]): InsertMessageResult[] {
    return this.db.transaction(() => inputs.map((input) => this.insertOne(input))).immediate();
  }

  private insertOne(input: InsertMessageInput): InsertMessageResult {
    const { room } = input;
    const status = toStatus(room, this.q.status.get({ room }));
    if (input.refuseIfClosed && status.status === "closed") return { ok: false, reason: "room_closed", status };
    const agg = this.q.room.get({ room });
    if (!agg?.msg_count && input.maxRooms > 0 && this.q.roomsWithMessages.get({})!.n >= input.maxRooms) {
      return { ok: false, reason: "room_quota" };
    }
    const run = agg?.agent_run ?? 0;
    if (!input.byOperator && input.loopGuard > 0 && run >= input.loopGuard) return { ok: false, reason: "room_paused", agentRun: run };
    const key = input.idempotency;
    // Another process stored this key meanwhile: the caller looks the first answer up.
    if (key && this.q.keyExists.get({ scope: key.scope, key: key.key, since: key.freshSinceMs })) return { ok: false, reason: "duplicate_key" };
    const seq = (agg?.last_seq ?? 0) + 1;
    const ts = input.nowMs;
    const thread = input.thread ?? seq;
    this.q.insert.run({
      room, seq, ts, from_name: input.from, to_name: input.to, text: input.text,
      expects_reply: input.expectsReply, open_q: input.expectsReply === "none" ? 0 : 1, reply_to: input.replyTo, thread,
    });
    this.q.answer.run({ room, seq, from_name: input.from });
    this.q.complete.run({ room, from_name: input.from, to_name: input.to, reply_to: input.replyTo ?? 0 });
    let count = (agg?.msg_count ?? 0) + 1;
    if (input.retention > 0 && count > input.retention) {
      const upto = seq - input.retention;
      count -= this.q.prune.run({ room, upto }).changes;
      // Receipt marks are trimmed every 64 posts, not on each: the statement visits every agent of the room.
      if (seq % 64 === 0) this.q.pruneMarks.run({ room, upto });
    }
    const agentRun = input.byOperator ? 0 : run + 1;
    this.q.upsertRoom.run({ room, seq, count, ts, run: agentRun });
    this.q.upsertPoster.run({ room, name: input.from, ts, seq });
    const message: Message = {
      room, seq, tsMs: ts, from: input.from, to: input.to, text: input.text,
      expectsReply: input.expectsReply, claimedBy: null, replyTo: input.replyTo, thread,
      leaseUntilMs: null, lapsedBy: null, lapse: null,
    };
    if (key) this.q.insertKey.run({ scope: key.scope, key: key.key, hash: key.bodyHash, message: JSON.stringify(message), ts });
    return { ok: true, message, agentRun };
  }

  private snapshot(room: string, read: () => MessageRow[]): RoomSnapshot {
    return this.db.transaction((): RoomSnapshot => {
      const messages = read().map(toMessage);
      const agg = this.q.room.get({ room });
      return {
        messages,
        highSeq: agg?.last_seq ?? 0,
        status: toStatus(room, this.q.status.get({ room })),
        lastTsMs: agg?.msg_count ? agg.last_ts : null,
        agentRun: agg?.agent_run ?? 0,
      };
    }).deferred();
  }

  readSince(room: string, since: number, viewer: string): RoomSnapshot {
    return this.snapshot(room, () => this.q.since.all({ room, since, viewer }));
  }

  readTail(room: string, limit: number): RoomSnapshot {
    return this.snapshot(room, () => this.q.tail.all({ room, limit }));
  }

  history(room: string, viewer: string, limit: number, thread: number | null): Message[] {
    const rows = thread === null ? this.q.history.all({ room, viewer, limit }) : this.q.thread.all({ room, viewer, limit, thread });
    return rows.reverse().map(toMessage);
  }

  resetAgentRun(room: string): void {
    this.q.resetRun.run({ room });
  }

  getMessage(room: string, seq: number): Message | null {
    const row = this.q.one.get({ room, seq });
    return row ? toMessage(row) : null;
  }

  claimMessage(room: string, seq: number, name: string, leaseUntilMs: number | null): string | null {
    return this.db.transaction(() => {
      this.q.claim.run({ room, seq, name, until: leaseUntilMs });
      return this.q.holder.get({ room, seq })?.claimed_by ?? null;
    }).immediate();
  }

  getRoomStatus(room: string): RoomStatus {
    return toStatus(room, this.q.status.get({ room }));
  }

  setRoomStatus(s: RoomStatus): void {
    this.q.upsertStatus.run({ room: s.name, status: s.status, closed_at: s.closedAtMs, closed_by: s.closedBy });
  }

  listRoomStatuses(): RoomStatus[] {
    return this.q.allStatuses.all({}).map((r) => toStatus(r.room, r));
  }

  listRoomSummaries(): RoomSummary[] {
    return this.q.summaries.all({}).map((r) => ({ room: r.room, messages: r.msg_count, lastSeq: r.last_seq, lastTsMs: r.last_ts, agentRun: r.agent_run }));
  }

  roomPosters(room: string): string[] {
    return this.q.roomPosters.all({ room }).map((r) => r.name);
  }

  listPosters(): PosterRow[] {
    return this.q.posters.all({}).map((r) => ({ room: r.room, name: r.name, lastTsMs: r.last_ts, firstSeq: r.first_seq }));
  }

  adminMessages(room: string | null, before: number | null, limit: number): Message[] {
    const rows = room === null
      ? this.q.allNewest.all({ limit })
      : this.q.roomNewest.all({ room, before: before ?? Number.MAX_SAFE_INTEGER, limit });
    return rows.reverse().map(toMessage);
  }

  waiting(limit: number): Message[] {
    return this.q.waiting.all({ limit }).map(toMessage);
  }

  countMessages(): number {
    return this.q.countMessages.get({})!.n ?? 0;
  }
}
