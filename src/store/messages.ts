import type { Database } from "bun:sqlite";
import type {
  InsertMessageInput, InsertMessageResult, Message, PosterRow, RoomSnapshot, RoomStatus, RoomSummary,
} from "../relay/types.ts";
import { openStatus } from "../relay/rooms.ts";

interface MessageRow {
  room: string; seq: number; ts: number; from_name: string; to_name: string; text: string;
  expects_reply: string; claimed_by: string | null;
}
interface StatusRow { room: string; status: "open" | "closed"; closed_at: number | null; closed_by: string | null }
interface RoomRow { room: string; last_seq: number; msg_count: number; last_ts: number }

const COLUMNS = "room, seq, ts, from_name, to_name, text, expects_reply, claimed_by";

const toMessage = (r: MessageRow): Message => ({
  room: r.room, seq: r.seq, tsMs: r.ts, from: r.from_name, to: r.to_name, text: r.text,
  expectsReply: r.expects_reply, claimedBy: r.claimed_by,
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
      room: p<RoomRow>("SELECT room, last_seq, msg_count, last_ts FROM rooms WHERE room = $room"),
      roomsWithMessages: p<{ n: number }>("SELECT count(*) AS n FROM rooms WHERE msg_count > 0"),
      summaries: p<RoomRow>("SELECT room, last_seq, msg_count, last_ts FROM rooms WHERE msg_count > 0"),
      countMessages: p<{ n: number | null }>("SELECT sum(msg_count) AS n FROM rooms"),
      insert: p(`INSERT INTO messages (room, seq, ts, from_name, to_name, text, expects_reply, open_q)
        VALUES ($room, $seq, $ts, $from_name, $to_name, $text, $expects_reply, $open_q)`),
      // Any later post by the addressed party answers a named question; for `anyone`, a post by anyone but the asker.
      answer: p(`UPDATE messages SET open_q = 0 WHERE room = $room AND open_q = 1 AND seq < $seq
        AND (expects_reply = $from_name OR (expects_reply = 'anyone' AND from_name <> $from_name))`),
      prune: p("DELETE FROM messages WHERE room = $room AND seq <= $upto"),
      upsertRoom: p(`INSERT INTO rooms (room, last_seq, msg_count, last_ts) VALUES ($room, $seq, $count, $ts)
        ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq, msg_count = excluded.msg_count, last_ts = excluded.last_ts`),
      upsertPoster: p(`INSERT INTO posters (room, name, last_ts) VALUES ($room, $name, $ts)
        ON CONFLICT (room, name) DO UPDATE SET last_ts = excluded.last_ts`),
      since: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room AND seq > $since
        AND from_name <> $viewer AND (to_name = 'all' OR to_name = $viewer) ORDER BY seq`),
      tail: p<MessageRow>(`SELECT * FROM (SELECT ${COLUMNS} FROM messages WHERE room = $room ORDER BY seq DESC LIMIT $limit) ORDER BY seq`),
      history: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room
        AND (to_name = 'all' OR to_name = $viewer OR from_name = $viewer) ORDER BY seq DESC LIMIT $limit`),
      one: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room AND seq = $seq`),
      claim: p("UPDATE messages SET claimed_by = $name WHERE room = $room AND seq = $seq AND claimed_by IS NULL"),
      holder: p<{ claimed_by: string | null }>("SELECT claimed_by FROM messages WHERE room = $room AND seq = $seq"),
      roomNewest: p<MessageRow>(`SELECT ${COLUMNS} FROM messages WHERE room = $room AND seq < $before ORDER BY seq DESC LIMIT $limit`),
      allNewest: p<MessageRow>(`SELECT ${COLUMNS} FROM messages ORDER BY id DESC LIMIT $limit`),
      waiting: p<MessageRow>(`SELECT ${COLUMNS} FROM messages m WHERE open_q = 1 AND from_name <> 'operator'
        AND NOT EXISTS (SELECT 1 FROM room_status s WHERE s.room = m.room AND s.status = 'closed')
        ORDER BY ts, room, seq LIMIT $limit`),
      posters: p<{ room: string; name: string; last_ts: number }>("SELECT room, name, last_ts FROM posters"),
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
    const seq = (agg?.last_seq ?? 0) + 1;
    const ts = input.nowMs;
    this.q.insert.run({
      room, seq, ts, from_name: input.from, to_name: input.to, text: input.text,
      expects_reply: input.expectsReply, open_q: input.expectsReply === "none" ? 0 : 1,
    });
    this.q.answer.run({ room, seq, from_name: input.from });
    let count = (agg?.msg_count ?? 0) + 1;
    if (input.retention > 0 && count > input.retention) {
      count -= this.q.prune.run({ room, upto: seq - input.retention }).changes;
    }
    this.q.upsertRoom.run({ room, seq, count, ts });
    this.q.upsertPoster.run({ room, name: input.from, ts });
    const message: Message = {
      room, seq, tsMs: ts, from: input.from, to: input.to, text: input.text,
      expectsReply: input.expectsReply, claimedBy: null,
    };
    return { ok: true, message };
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
      };
    }).deferred();
  }

  readSince(room: string, since: number, viewer: string): RoomSnapshot {
    return this.snapshot(room, () => this.q.since.all({ room, since, viewer }));
  }

  readTail(room: string, limit: number): RoomSnapshot {
    return this.snapshot(room, () => this.q.tail.all({ room, limit }));
  }

  history(room: string, viewer: string, limit: number): Message[] {
    return this.q.history.all({ room, viewer, limit }).reverse().map(toMessage);
  }

  getMessage(room: string, seq: number): Message | null {
    const row = this.q.one.get({ room, seq });
    return row ? toMessage(row) : null;
  }

  claimMessage(room: string, seq: number, name: string): string | null {
    return this.db.transaction(() => {
      this.q.claim.run({ room, seq, name });
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
    return this.q.summaries.all({}).map((r) => ({ room: r.room, messages: r.msg_count, lastSeq: r.last_seq, lastTsMs: r.last_ts }));
  }

  roomPosters(room: string): string[] {
    return this.q.roomPosters.all({ room }).map((r) => r.name);
  }

  listPosters(): PosterRow[] {
    return this.q.posters.all({}).map((r) => ({ room: r.room, name: r.name, lastTsMs: r.last_ts }));
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
