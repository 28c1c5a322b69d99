import { defineCommand } from "citty";
import { DataDir } from "../store/files.ts";
import { controlUrl, ControlClient } from "./client.ts";
import { setupVerb } from "./context.ts";
import { table } from "./output.ts";

interface StatusWire {
  name: string;
  status: string;
  closed_at: string | null;
  closed_by: string | null;
}
interface StateWire {
  rooms: { room: string; messages: number; last_seq: number; last_ts: string | null; seconds_since_last: number; status: string; closed_at: string | null; closed_by: string | null }[];
  room_status: Record<string, StatusWire>;
  waiting: { room: string }[];
}

/** One row of `argybargy rooms --json`: the summary fields of GET /admin/state plus the inbox count. */
export interface RoomRow {
  room: string;
  status: string;
  messages: number;
  last_seq: number;
  last_ts: string | null;
  seconds_since_last: number | null;
  closed_at: string | null;
  closed_by: string | null;
  waiting: number;
}

/** `argybargy rooms`: every room with messages or a status record, from `GET /admin/state`. */
export const roomsCommand = defineCommand({
  meta: { name: "rooms", description: "List rooms (through the running bridge)" },
  args: {
    url: { type: "string", description: "Bridge URL (default http://127.0.0.1:<ARGYBARGY_PORT>)" },
    json: { type: "boolean", description: "Print one JSON document ({rooms: [...]})" },
  },
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    const client = new ControlClient(controlUrl(config, ctx.args.url), new DataDir(config.dataDir));
    const rows = roomRows(await client.admin<StateWire>("GET", "/admin/state"));
    if (ctx.args.json) {
      out.json({ rooms: rows });
      return;
    }
    if (rows.length === 0) {
      out.line("No rooms yet. Open one with: argybargy room <name>");
      return;
    }
    const lines = rows.map((r) => [r.room, r.status, String(r.messages), r.seconds_since_last === null ? "never" : age(r.seconds_since_last), r.waiting ? String(r.waiting) : "-"]);
    for (const line of table([["ROOM", "STATUS", "MSGS", "LAST", "WAITING"], ...lines])) out.line(line);
  },
});

/** Rooms = summaries ∪ room_status keys, sorted by name (SPEC §8). */
export function roomRows(state: StateWire): RoomRow[] {
  const waiting = new Map<string, number>();
  for (const w of state.waiting) waiting.set(w.room, (waiting.get(w.room) ?? 0) + 1);
  const rows = new Map<string, RoomRow>();
  for (const s of Object.values(state.room_status)) {
    rows.set(s.name, { room: s.name, status: s.status, messages: 0, last_seq: 0, last_ts: null, seconds_since_last: null, closed_at: s.closed_at, closed_by: s.closed_by, waiting: 0 });
  }
  for (const r of state.rooms) {
    rows.set(r.room, { room: r.room, status: r.status, messages: r.messages, last_seq: r.last_seq, last_ts: r.last_ts, seconds_since_last: r.seconds_since_last, closed_at: r.closed_at, closed_by: r.closed_by, waiting: 0 });
  }
  for (const row of rows.values()) row.waiting = waiting.get(row.room) ?? 0;
  return [...rows.values()].sort((a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : 0));
}

/** Age of the last message, floored: Ns under a minute, Nm under an hour, Nh under a day, else Nd. */
export function age(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
