import type { SQL } from "bun";
import type {
  InsertMessageInput, InsertMessageResult, Message, PosterRow, RoomSnapshot, RoomStatus, RoomSummary,
} from "../relay/types.ts";
import { openStatus } from "../relay/rooms.ts";
import { keyText } from "./pg-codes.ts";

/**
 * A message as json_build_array gives it: [room, seq, ts, from, to, text, escaped, expects,
 * claimed_by, reply_to, thread, lease_until, lapsed_by, lapse].
 */
type PackedMessage = [string, number, number, string, string, string, boolean, string, string | null,
  number | null, number | null, number | null, string | null, string | null];

/** The columns of a message, packed into one JSON array per row (one snapshot, one round trip). */
export const PACK = `json_build_array(m.room, m.seq, m.ts, m.from_name, m.to_name, m.text, m.escaped, m.expects_reply, m.claimed_by,
  m.reply_to, m.thread, m.lease_until, m.lapsed_by, m.lapse)`;

/** A text as stored: PostgreSQL text cannot hold U+0000, so such a text goes JSON-encoded. */
export function encodeText(text: string): { text: string; escaped: boolean } {
  return text.includes("\u0000") ? { text: JSON.stringify(text), escaped: true } : { text, escaped: false };
}

/** The inverse of encodeText. */
export function decodeText(text: string, escaped: boolean): string {
  return escaped ? JSON.parse(text) as string : text;
}

/** One packed row back to a Message. */
export const unpack = (p: PackedMessage): Message => ({
  room: p[0], seq: Number(p[1]), tsMs: Number(p[2]), from: p[3], to: p[4], text: decodeText(p[5], p[6]),
  expectsReply: p[7], claimedBy: p[8], replyTo: p[9] === null ? null : Number(p[9]), thread: Number(p[10] ?? p[1]),
  leaseUntilMs: p[11] === null ? null : Number(p[11]), lapsedBy: p[12], lapse: p[13] === "expired" || p[13] === "released" ? p[13] : null,
});

/** No key, no room quota, no rate slot: argy_post_plain's kind of post. */
export const isPlain = (i: InsertMessageInput): boolean => !i.idempotency && !i.rate?.key && i.maxRooms === 0;

/** A stored post as the store answers it (the input plus what the database decided). */
const accepted = (input: InsertMessageInput, seq: unknown, agentRun: unknown, thread: unknown): InsertMessageResult => ({
  ok: true, agentRun: Number(agentRun), message: {
    room: input.room, seq: Number(seq), tsMs: input.nowMs, from: input.from, to: input.to, text: input.text,
    expectsReply: input.expectsReply, claimedBy: null, replyTo: input.replyTo, thread: Number(thread),
    leaseUntilMs: null, lapsedBy: null, lapse: null,
  },
});

const unpackAll = (packed: PackedMessage[] | null): Message[] => (packed ?? []).map(unpack);

interface StatusRow { room: string; status: "open" | "closed" | null; closed_at: string | null; closed_by: string | null }

const toStatus = (room: string, r: StatusRow | undefined): RoomStatus =>
  r?.status ? { name: room, status: r.status, closedAtMs: r.closed_at === null ? null : Number(r.closed_at), closedBy: r.closed_by }
    : openStatus(room);

/** Messages, room aggregates, statuses and posters on PostgreSQL: every query of them, SQL beside it. */
export class PgMessageQueries {
  constructor(private readonly sql: SQL) {}

  /**
   * A plain batch (`isPlain` for every post) in ONE statement through `argy_post_plain`
   * (migration step 5: one transaction, one NOTIFY per room written), each post under SQLite's
   * rules. A room its fast path cannot take (closed, or a loop guard in reach) is not written:
   * its posts come back null, for `insertGeneral`. Results come back in input order.
   */
  async insertPlain(inputs: InsertMessageInput[]): Promise<(InsertMessageResult | null)[]> {
    const texts = inputs.map((i) => encodeText(i.text));
    const rows = await this.sql`SELECT o_i, o_seq, o_agent_run, o_thread FROM argy_post_plain(
      ${inputs.map((i) => i.room)}::text[], ${inputs.map((i) => i.from)}::text[], ${inputs.map((i) => i.to)}::text[],
      ${texts.map((t) => t.text)}::text[], ${texts.map((t) => t.escaped)}::boolean[], ${inputs.map((i) => i.expectsReply)}::text[],
      ${inputs.map((i) => i.nowMs)}::bigint[], ${inputs.map((i) => i.replyTo ?? 0)}::bigint[], ${inputs.map((i) => i.thread ?? 0)}::bigint[],
      ${inputs.map((i) => i.byOperator)}::boolean[], ${inputs.map((i) => i.loopGuard)}::bigint[], ${inputs[0]!.retention}::bigint)`;
    const results: (InsertMessageResult | null)[] = new Array(inputs.length).fill(null);
    for (const r of rows) if (r.o_seq !== null) results[r.o_i] = accepted(inputs[r.o_i]!, r.o_seq, r.o_agent_run, r.o_thread);
    return results;
  }

  /**
   * Any batch in ONE statement through step 4's `argy_post` (one transaction, one NOTIFY per
   * room): keys, quotas, closed rooms, the loop guard, and each post's rate-limit slot (`rate`)
   * taken in the same transaction. Results come back in input order.
   */
  async insertGeneral(inputs: InsertMessageInput[]): Promise<InsertMessageResult[]> {
    const texts = inputs.map((i) => encodeText(i.text));
    const rows = await this.sql`SELECT o_i, o_seq, o_reason, o_closed_at, o_closed_by, o_agent_run, o_thread, o_retry FROM argy_post(
      ${inputs.map((i) => i.room)}::text[], ${inputs.map((i) => i.from)}::text[], ${inputs.map((i) => i.to)}::text[],
      ${texts.map((t) => t.text)}::text[], ${texts.map((t) => t.escaped)}::boolean[], ${inputs.map((i) => i.expectsReply)}::text[],
      ${inputs.map((i) => i.refuseIfClosed)}::boolean[], ${inputs.map((i) => i.nowMs)}::bigint[],
      ${inputs.map((i) => i.maxRooms)}::bigint[], ${inputs[0]!.retention}::bigint,
      ${inputs.map((i) => i.replyTo ?? 0)}::bigint[], ${inputs.map((i) => i.thread ?? 0)}::bigint[], ${inputs.map((i) => i.byOperator)}::boolean[],
      ${inputs.map((i) => i.loopGuard)}::bigint[], ${inputs.map((i) => keyText(i.idempotency?.scope ?? ""))}::text[],
      ${inputs.map((i) => keyText(i.idempotency?.key ?? ""))}::text[], ${inputs.map((i) => i.idempotency?.bodyHash ?? "")}::text[],
      ${inputs.map((i) => i.idempotency?.freshSinceMs ?? 0)}::bigint[], ${inputs.map((i) => keyText(i.rate?.key ?? ""))}::text[],
      ${inputs.map((i) => i.rate?.max ?? 0)}::bigint[], ${inputs.map((i) => Math.round(i.rate?.windowMs ?? 0))}::bigint[])`;
    const results: InsertMessageResult[] = new Array(inputs.length);
    for (const r of rows) {
      const input = inputs[r.o_i]!;
      if (r.o_reason === "room_closed") {
        results[r.o_i] = { ok: false, reason: "room_closed", status: { name: input.room, status: "closed", closedAtMs: r.o_closed_at === null ? null : Number(r.o_closed_at), closedBy: r.o_closed_by } };
      } else if (r.o_reason === "room_quota") {
        results[r.o_i] = { ok: false, reason: "room_quota" };
      } else if (r.o_reason === "room_paused") {
        results[r.o_i] = { ok: false, reason: "room_paused", agentRun: Number(r.o_agent_run) };
      } else if (r.o_reason === "rate_limited") {
        results[r.o_i] = { ok: false, reason: "rate_limited", retryMs: Number(r.o_retry) };
      } else if (r.o_reason === "duplicate_key") {
        results[r.o_i] = { ok: false, reason: "duplicate_key" };
      } else {
        results[r.o_i] = accepted(input, r.o_seq, r.o_agent_run, r.o_thread);
      }
    }
    return results;
  }

  /** One statement, hence one snapshot: the messages, the aggregate and the status together. */
  private async snapshot(room: string, rows: Promise<any[]>): Promise<RoomSnapshot> {
    const [r] = await rows;
    return {
      messages: unpackAll(r.msgs),
      highSeq: r.last_seq === null ? 0 : Number(r.last_seq),
      status: toStatus(room, r),
      lastTsMs: r.msg_count !== null && Number(r.msg_count) > 0 ? Number(r.last_ts) : null,
      agentRun: r.agent_run === null ? 0 : Number(r.agent_run),
    };
  }

  readSince(room: string, since: number, viewer: string): Promise<RoomSnapshot> {
    return this.snapshot(room, this.sql`SELECT
      (SELECT json_agg(${this.sql.unsafe(PACK)} ORDER BY m.seq) FROM messages m WHERE m.room = ${room} AND m.seq > ${since}
        AND m.from_name <> ${viewer} AND (m.to_name = 'all' OR m.to_name = ${viewer})) AS msgs,
      r.last_seq, r.msg_count, r.last_ts, r.agent_run, s.room, s.status, s.closed_at, s.closed_by
      FROM (VALUES (1)) v(x) LEFT JOIN rooms r ON r.room = ${room} LEFT JOIN room_status s ON s.room = ${room}`);
  }

  readTail(room: string, limit: number): Promise<RoomSnapshot> {
    return this.snapshot(room, this.sql`SELECT
      (SELECT json_agg(${this.sql.unsafe(PACK)} ORDER BY m.seq) FROM
        (SELECT * FROM messages WHERE room = ${room} ORDER BY seq DESC LIMIT ${limit}) m) AS msgs,
      r.last_seq, r.msg_count, r.last_ts, r.agent_run, s.room, s.status, s.closed_at, s.closed_by
      FROM (VALUES (1)) v(x) LEFT JOIN rooms r ON r.room = ${room} LEFT JOIN room_status s ON s.room = ${room}`);
  }

  async history(room: string, viewer: string, limit: number, thread: number | null): Promise<Message[]> {
    const [r] = thread === null
      ? await this.sql`SELECT json_agg(${this.sql.unsafe(PACK)} ORDER BY m.seq) AS msgs FROM
          (SELECT * FROM messages WHERE room = ${room} AND (to_name = 'all' OR to_name = ${viewer} OR from_name = ${viewer})
           ORDER BY seq DESC LIMIT ${limit}) m`
      : await this.sql`SELECT json_agg(${this.sql.unsafe(PACK)} ORDER BY m.seq) AS msgs FROM
          (SELECT * FROM messages WHERE room = ${room} AND thread = ${thread} AND (to_name = 'all' OR to_name = ${viewer} OR from_name = ${viewer})
           ORDER BY seq DESC LIMIT ${limit}) m`;
    return unpackAll(r.msgs);
  }

  /** The operator resumed the room: the loop guard's run starts again; other instances are told. */
  async resetAgentRun(room: string): Promise<void> {
    await this.sql`WITH u AS (UPDATE rooms SET agent_run = 0 WHERE room = ${room} RETURNING 1)
      SELECT pg_notify(argy_channel(), ${room}), (SELECT count(*) FROM u)`;
  }

  async getMessage(room: string, seq: number): Promise<Message | null> {
    const [r] = await this.sql`SELECT ${this.sql.unsafe(PACK)} AS p FROM messages m WHERE m.room = ${room} AND m.seq = ${seq}`;
    return r ? unpack(r.p) : null;
  }

  /**
   * Sets claimed_by only where it is still null (the row lock makes exactly one claimer win
   * across instances) and notifies the room when it did. The loser's holder is read in a
   * second statement: one started before the winner committed would still see null.
   */
  async claimMessage(room: string, seq: number, name: string, leaseUntilMs: number | null, notify: () => void): Promise<string | null> {
    const won = await this.sql`WITH c AS (UPDATE messages SET claimed_by = ${name}, lease_until = ${leaseUntilMs}, lapsed_by = NULL, lapse = NULL
      WHERE room = ${room} AND seq = ${seq} AND claimed_by IS NULL RETURNING claimed_by) SELECT c.claimed_by, pg_notify(argy_channel(), ${room}) FROM c`;
    if (won.length) {
      notify();
      return won[0].claimed_by;
    }
    const [r] = await this.sql`SELECT claimed_by FROM messages WHERE room = ${room} AND seq = ${seq}`;
    return r?.claimed_by ?? null;
  }

  async getRoomStatus(room: string): Promise<RoomStatus> {
    const [r] = await this.sql`SELECT room, status, closed_at, closed_by FROM room_status WHERE room = ${room}`;
    return toStatus(room, r);
  }

  /**
   * Locks the room's counter row first, as every post does, so a close and a post cannot
   * interleave: a post either commits before the close or sees the room closed. Notifies the room.
   */
  async setRoomStatus(s: RoomStatus): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`INSERT INTO rooms AS t (room, last_seq, msg_count, last_ts) VALUES (${s.name}, 0, 0, 0)
        ON CONFLICT (room) DO UPDATE SET room = t.room`;
      await tx`INSERT INTO room_status (room, status, closed_at, closed_by) VALUES (${s.name}, ${s.status}, ${s.closedAtMs}, ${s.closedBy})
        ON CONFLICT (room) DO UPDATE SET status = excluded.status, closed_at = excluded.closed_at, closed_by = excluded.closed_by`;
      await tx`SELECT pg_notify(argy_channel(), ${s.name})`;
    });
  }

  async listRoomStatuses(): Promise<RoomStatus[]> {
    const rows = await this.sql`SELECT room, status, closed_at, closed_by FROM room_status ORDER BY room COLLATE "C"`;
    return rows.map((r: StatusRow) => toStatus(r.room, r));
  }

  async listRoomSummaries(): Promise<RoomSummary[]> {
    const rows = await this.sql`SELECT room, last_seq, msg_count, last_ts, agent_run FROM rooms WHERE msg_count > 0`;
    return rows.map((r: any) => ({
      room: r.room, messages: Number(r.msg_count), lastSeq: Number(r.last_seq), lastTsMs: Number(r.last_ts), agentRun: Number(r.agent_run),
    }));
  }

  async roomPosters(room: string): Promise<string[]> {
    return (await this.sql`SELECT name FROM posters WHERE room = ${room}`).map((r: any) => r.name);
  }

  async listPosters(): Promise<PosterRow[]> {
    const rows = await this.sql`SELECT room, name, last_ts, first_seq FROM posters`;
    return rows.map((r: any) => ({ room: r.room, name: r.name, lastTsMs: Number(r.last_ts), firstSeq: Number(r.first_seq) }));
  }

  async adminMessages(room: string | null, before: number | null, limit: number): Promise<Message[]> {
    const [r] = room === null
      ? await this.sql`SELECT json_agg(${this.sql.unsafe(PACK)} ORDER BY m.id) AS msgs FROM
          (SELECT * FROM messages ORDER BY id DESC LIMIT ${limit}) m`
      : await this.sql`SELECT json_agg(${this.sql.unsafe(PACK)} ORDER BY m.seq) AS msgs FROM
          (SELECT * FROM messages WHERE room = ${room} AND seq < ${before ?? Number.MAX_SAFE_INTEGER} ORDER BY seq DESC LIMIT ${limit}) m`;
    return unpackAll(r.msgs);
  }

  async waiting(limit: number): Promise<Message[]> {
    const [r] = await this.sql`SELECT json_agg(${this.sql.unsafe(PACK)} ORDER BY m.ts, m.room COLLATE "C", m.seq) AS msgs FROM
      (SELECT * FROM messages m WHERE open_q AND from_name <> 'operator'
        AND NOT EXISTS (SELECT 1 FROM room_status s WHERE s.room = m.room AND s.status = 'closed')
        ORDER BY ts, room COLLATE "C", seq LIMIT ${limit}) m`;
    return unpackAll(r.msgs);
  }

  async countMessages(): Promise<number> {
    const [r] = await this.sql`SELECT coalesce(sum(msg_count), 0)::float8 AS n FROM rooms`;
    return Number(r.n);
  }
}
