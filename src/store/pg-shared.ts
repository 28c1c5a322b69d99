import type { SQL } from "bun";
import { PRESENCE_TTL_MS } from "../relay/presence.ts";
import type { SharedAuthFailure, SharedPresence, SharedState } from "../relay/ports.ts";
import { keyText } from "./pg-codes.ts";
import { isConnectionError, unavailable, type PgStore } from "./postgres.ts";

/** Queued sightings and clock moves are written at most this often, in one statement. */
const FLUSH_MS = 200;

interface Dirty { room: string; name: string; seenMs: number | null; clockMs: number | null; restart: boolean }

/**
 * SharedState on PostgreSQL (migration step 2): each instance's view of rate limits, presence,
 * idle clocks, failed authentications and the admin token comes from the same rows.
 * Sightings and clocks are batched (a read sees them within FLUSH_MS); everything else is exact.
 */
export class PgSharedState implements SharedState {
  private readonly sql: SQL;
  private dirty = new Map<string, Dirty>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> | null = null;

  constructor(private readonly store: PgStore) {
    this.sql = store.sql;
  }

  /** Runs a query; a lost connection becomes RelayError `unavailable` (503), as in PgStore. */
  private async run<T>(query: () => Promise<T>): Promise<T> {
    try {
      await this.store.ready;
      return await query();
    } catch (err) {
      throw isConnectionError(err) ? unavailable() : err;
    }
  }

  takeRate(key: string, nowMs: number, max: number, windowMs: number): Promise<number> {
    return this.run(() => this.rateQuery(key, nowMs, max, windowMs));
  }

  private async rateQuery(key: string, nowMs: number, max: number, windowMs: number): Promise<number> {
    const [r] = await this.sql`SELECT argy_rate_take(${keyText(key)}, ${nowMs}, ${max}, ${Math.round(windowMs)}) AS ms`;
    return Number(r.ms);
  }

  async firstSight(room: string, name: string, nowMs: number): Promise<boolean> {
    const rows = await this.run(() => this.sql`INSERT INTO agent_presence AS p (room, name, seen_ms) VALUES (${room}, ${name}, ${nowMs})
      ON CONFLICT (room, name) DO UPDATE SET seen_ms = greatest(p.seen_ms, excluded.seen_ms) RETURNING (xmax = 0) AS inserted`);
    return rows[0].inserted === true;
  }

  recordSeen(room: string, name: string, seenMs: number): void {
    const d = this.entry(room, name);
    d.seenMs = Math.max(d.seenMs ?? 0, seenMs);
  }

  recordClock(room: string, name: string, startMs: number, restart: boolean): void {
    const d = this.entry(room, name);
    if (restart) {
      d.clockMs = startMs;
      d.restart = true;
    } else if (d.clockMs === null) d.clockMs = startMs;
  }

  async loadPresence(room: string | null, sinceMs: number): Promise<SharedPresence[]> {
    await this.flush();
    const rows = await this.run(() => room === null
      ? this.sql`SELECT room, name, seen_ms, clock_ms FROM agent_presence WHERE seen_ms > ${sinceMs}`
      : this.sql`SELECT room, name, seen_ms, clock_ms FROM agent_presence WHERE room = ${room} AND seen_ms > ${sinceMs}`);
    return rows.map((r: any) => ({ room: r.room, name: r.name, seenMs: Number(r.seen_ms), clockMs: r.clock_ms === null ? null : Number(r.clock_ms) }));
  }

  async authFailure(ip: string, nowMs: number, admin: boolean, windowMs: number): Promise<SharedAuthFailure> {
    const a = admin ? 1 : 0;
    const [r] = await this.run(() => this.sql`INSERT INTO auth_failures AS t (ip, window_start, failures, admin_failures, audit_id)
      VALUES (${ip}, ${nowMs}, 1, ${a}, NULL)
      ON CONFLICT (ip) DO UPDATE SET
        window_start = CASE WHEN ${nowMs} - t.window_start >= ${windowMs} THEN ${nowMs} ELSE t.window_start END,
        failures = CASE WHEN ${nowMs} - t.window_start >= ${windowMs} THEN 1 ELSE t.failures + 1 END,
        admin_failures = CASE WHEN ${nowMs} - t.window_start >= ${windowMs} THEN ${a} ELSE t.admin_failures + ${a} END,
        audit_id = CASE WHEN ${nowMs} - t.window_start >= ${windowMs} THEN NULL ELSE t.audit_id END
      RETURNING window_start, failures, admin_failures, audit_id`);
    return {
      windowStartMs: Number(r.window_start), failures: r.failures, adminFailures: r.admin_failures,
      auditId: r.audit_id === null ? null : Number(r.audit_id),
    };
  }

  async setAuthAuditId(ip: string, windowStartMs: number, auditId: number): Promise<void> {
    await this.run(() => this.sql`UPDATE auth_failures SET audit_id = ${auditId} WHERE ip = ${ip} AND window_start = ${windowStartMs} AND audit_id IS NULL`);
  }

  async adminToken(): Promise<string | null> {
    const [r] = await this.run(() => this.sql`SELECT value FROM settings WHERE key = 'admin_token'`);
    return r?.value ?? null;
  }

  async saveAdminToken(token: string, onlyIfMissing: boolean): Promise<string> {
    await this.run(() => onlyIfMissing
      ? this.sql`INSERT INTO settings (key, value) VALUES ('admin_token', ${token}) ON CONFLICT (key) DO NOTHING`
      : this.sql`INSERT INTO settings (key, value) VALUES ('admin_token', ${token}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    return (await this.adminToken())!;
  }

  /** Deletes rate logs and failure windows that ended before `cutoffMs`, and presence unseen for a day (upkeep). */
  async sweep(cutoffMs: number): Promise<void> {
    await this.sql`DELETE FROM agent_presence WHERE seen_ms < ${cutoffMs - PRESENCE_TTL_MS}`;
    await this.sql`DELETE FROM auth_failures WHERE window_start < ${cutoffMs}`;
    await this.sql`DELETE FROM agent_rate WHERE log[cardinality(log)] IS NULL OR log[cardinality(log)] < ${cutoffMs}`;
  }

  /** Writes every queued sighting and clock move now. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.flushing) await this.flushing;
    if (!this.dirty.size) return;
    const rows = [...this.dirty.values()];
    this.dirty = new Map();
    this.flushing = (async () => {
      try {
        await this.store.ready;
        // Restarts move the clock forward; a first start only fills an empty one.
        for (const restart of [true, false]) {
          const part = rows.filter((r) => r.restart === restart);
          if (part.length) await this.upsert(part, restart);
        }
      } catch {
        // Presence is advisory: a write lost to a database outage is redone by the next sighting.
      }
    })();
    await this.flushing;
    this.flushing = null;
  }

  private async upsert(rows: Dirty[], restart: boolean): Promise<void> {
    const rooms = rows.map((r) => r.room), names = rows.map((r) => r.name);
    const seen = rows.map((r) => r.seenMs ?? 0), clocks = rows.map((r) => r.clockMs ?? -1);
    if (restart) {
      await this.sql`INSERT INTO agent_presence AS p (room, name, seen_ms, clock_ms)
        SELECT room, name, seen, nullif(clock, -1) FROM unnest(${rooms}::text[], ${names}::text[], ${seen}::bigint[], ${clocks}::bigint[]) AS u(room, name, seen, clock)
        ON CONFLICT (room, name) DO UPDATE SET seen_ms = greatest(p.seen_ms, excluded.seen_ms),
          clock_ms = CASE WHEN p.clock_ms IS NULL OR excluded.clock_ms > p.clock_ms THEN excluded.clock_ms ELSE p.clock_ms END`;
    } else {
      await this.sql`INSERT INTO agent_presence AS p (room, name, seen_ms, clock_ms)
        SELECT room, name, seen, nullif(clock, -1) FROM unnest(${rooms}::text[], ${names}::text[], ${seen}::bigint[], ${clocks}::bigint[]) AS u(room, name, seen, clock)
        ON CONFLICT (room, name) DO UPDATE SET seen_ms = greatest(p.seen_ms, excluded.seen_ms),
          clock_ms = coalesce(p.clock_ms, excluded.clock_ms)`;
    }
  }

  private entry(room: string, name: string): Dirty {
    const k = `${room}\u0000${name}`;
    let d = this.dirty.get(k);
    if (!d) this.dirty.set(k, (d = { room, name, seenMs: null, clockMs: null, restart: false }));
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
    return d;
  }
}
