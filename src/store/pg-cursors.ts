import type { SQL } from "bun";
import type { AgentCursor } from "../relay/types.ts";

interface CursorRow {
  name: string; delivered_seq: string; delivered_at: string | null; read_seq: string; read_at: string | null; seen_seq: string; seen_at: string | null;
}

const num = (v: string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const toCursor = (r: CursorRow | undefined): AgentCursor => ({
  deliveredSeq: num(r?.delivered_seq) ?? 0, deliveredMs: num(r?.delivered_at), readSeq: num(r?.read_seq) ?? 0, readMs: num(r?.read_at),
  seenSeq: num(r?.seen_seq) ?? 0, seenMs: num(r?.seen_at),
});

/** The per-agent positions (table `agent_cursors`) on PostgreSQL: every query of them, SQL beside it. */
export class PgCursorQueries {
  constructor(private readonly sql: SQL) {}

  async get(room: string, name: string): Promise<AgentCursor> {
    const [r] = await this.sql`SELECT name, delivered_seq, delivered_at, read_seq, read_at, seen_seq, seen_at FROM agent_cursors WHERE room = ${room} AND name = ${name}`;
    return toCursor(r);
  }

  async list(room: string): Promise<(AgentCursor & { name: string })[]> {
    const rows = await this.sql`SELECT name, delivered_seq, delivered_at, read_seq, read_at, seen_seq, seen_at FROM agent_cursors WHERE room = ${room} ORDER BY name COLLATE "C"`;
    return rows.map((r: CursorRow) => ({ name: r.name, ...toCursor(r) }));
  }

  /** Compare-and-set; a missing row counts as position 0, so the first move from 0 creates it. */
  async moveDelivered(room: string, name: string, from: number, to: number, nowMs: number): Promise<boolean> {
    const rows = from === 0
      ? await this.sql`INSERT INTO agent_cursors AS c (room, name, delivered_seq, delivered_at) VALUES (${room}, ${name}, ${to}, ${nowMs})
          ON CONFLICT (room, name) DO UPDATE SET delivered_seq = excluded.delivered_seq, delivered_at = excluded.delivered_at
          WHERE c.delivered_seq = 0 RETURNING 1`
      : await this.sql`UPDATE agent_cursors SET delivered_seq = ${to}, delivered_at = ${nowMs}
          WHERE room = ${room} AND name = ${name} AND delivered_seq = ${from} RETURNING 1`;
    return rows.length > 0;
  }

  async raiseRead(room: string, name: string, seq: number, nowMs: number): Promise<void> {
    await this.sql`INSERT INTO agent_cursors AS c (room, name, read_seq, read_at) VALUES (${room}, ${name}, ${seq}, ${nowMs})
      ON CONFLICT (room, name) DO UPDATE SET read_seq = excluded.read_seq, read_at = excluded.read_at
      WHERE excluded.read_seq > c.read_seq`;
  }
}
