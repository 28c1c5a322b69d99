import type { Database } from "bun:sqlite";
import type { AgentCursor } from "../relay/types.ts";

interface CursorRow {
  name: string; delivered_seq: number; delivered_at: number | null; read_seq: number; read_at: number | null;
  seen_seq: number; seen_at: number | null;
}

const toCursor = (r: CursorRow | null): AgentCursor => ({
  deliveredSeq: r?.delivered_seq ?? 0, deliveredMs: r?.delivered_at ?? null, readSeq: r?.read_seq ?? 0, readMs: r?.read_at ?? null,
  seenSeq: r?.seen_seq ?? 0, seenMs: r?.seen_at ?? null,
});

/** The per-agent positions (table `agent_cursors`): every query of them, SQL beside it. */
export class CursorQueries {
  private readonly q;

  constructor(db: Database) {
    const p = <R>(sql: string) => db.query<R, any>(sql);
    this.q = {
      get: p<CursorRow>("SELECT name, delivered_seq, delivered_at, read_seq, read_at, seen_seq, seen_at FROM agent_cursors WHERE room = $room AND name = $name"),
      list: p<CursorRow>("SELECT name, delivered_seq, delivered_at, read_seq, read_at, seen_seq, seen_at FROM agent_cursors WHERE room = $room ORDER BY name"),
      // A missing row counts as position 0, so the first move from 0 creates it.
      move: p<{ n: number }>(`INSERT INTO agent_cursors (room, name, delivered_seq, delivered_at) SELECT $room, $name, $to, $now WHERE $from = 0
        ON CONFLICT (room, name) DO UPDATE SET delivered_seq = excluded.delivered_seq, delivered_at = excluded.delivered_at
        WHERE agent_cursors.delivered_seq = $from RETURNING 1 AS n`),
      moveExisting: p<{ n: number }>(`UPDATE agent_cursors SET delivered_seq = $to, delivered_at = $now
        WHERE room = $room AND name = $name AND delivered_seq = $from RETURNING 1 AS n`),
      raiseRead: p(`INSERT INTO agent_cursors (room, name, read_seq, read_at) VALUES ($room, $name, $seq, $now)
        ON CONFLICT (room, name) DO UPDATE SET read_seq = excluded.read_seq, read_at = excluded.read_at
        WHERE excluded.read_seq > agent_cursors.read_seq`),
    };
  }

  get(room: string, name: string): AgentCursor {
    return toCursor(this.q.get.get({ room, name }));
  }

  list(room: string): (AgentCursor & { name: string })[] {
    return this.q.list.all({ room }).map((r) => ({ name: r.name, ...toCursor(r) }));
  }

  moveDelivered(room: string, name: string, from: number, to: number, nowMs: number): boolean {
    const args = { room, name, from, to, now: nowMs };
    return (from === 0 ? this.q.move.get(args) : this.q.moveExisting.get(args)) !== null;
  }

  raiseRead(room: string, name: string, seq: number, nowMs: number): void {
    this.q.raiseRead.run({ room, name, seq, now: nowMs });
  }
}
