/** Entries unseen for this long are dropped (SPEC §7.14). */
export const PRESENCE_TTL_MS = 24 * 3600_000;

export interface PresenceEntry {
  room: string;
  name: string;
  seenMs: number;
  /** Online as of the last touch or sweep; used to report online/offline transitions. */
  online: boolean;
}

const key = (room: string, name: string) => `${room}\u0000${name}`;

/**
 * In-memory presence and the agents' idle clocks (SPEC §7.6, §7.7), per process. Pure
 * bookkeeping: the caller supplies the time and acts on the transitions it reports.
 */
export class Presence {
  private readonly seen = new Map<string, PresenceEntry>();
  private readonly clocks = new Map<string, number>();

  constructor(private readonly onlineWindowMs: number) {}

  /** Records (room, name) as seen at `nowMs`. Returns "new" on first sight, "online" when it came back online. */
  touch(room: string, name: string, nowMs: number): "new" | "online" | null {
    const k = key(room, name);
    const entry = this.seen.get(k);
    if (!entry) {
      this.seen.set(k, { room, name, seenMs: nowMs, online: true });
      return "new";
    }
    const cameBack = !entry.online;
    entry.seenMs = nowMs;
    entry.online = true;
    return cameBack ? "online" : null;
  }

  /**
   * Takes in what another instance recorded: the later of the two sightings and the later
   * clock start win. An entry new to this instance is not reported as a transition.
   */
  merge(row: { room: string; name: string; seenMs: number; clockMs: number | null }, nowMs: number): void {
    const k = key(row.room, row.name);
    const entry = this.seen.get(k);
    if (!entry) this.seen.set(k, { room: row.room, name: row.name, seenMs: row.seenMs, online: nowMs - row.seenMs <= this.onlineWindowMs });
    else if (row.seenMs > entry.seenMs) {
      entry.seenMs = row.seenMs;
      // Back online according to the other instance: the next sweep reports the change.
      if (this.isOnline(entry, nowMs)) entry.online = true;
    }
    if (row.clockMs !== null && row.clockMs > (this.clocks.get(k) ?? -Infinity)) this.clocks.set(k, row.clockMs);
  }

  get(room: string, name: string): PresenceEntry | undefined {
    return this.seen.get(key(room, name));
  }

  isOnline(entry: PresenceEntry, nowMs: number): boolean {
    return nowMs - entry.seenMs <= this.onlineWindowMs;
  }

  /** Every entry, or those of one room. */
  list(room?: string): PresenceEntry[] {
    const all = [...this.seen.values()];
    return room === undefined ? all : all.filter((e) => e.room === room);
  }

  /** Starts the agent's idle clock when it has none. */
  startClock(room: string, name: string, nowMs: number): void {
    const k = key(room, name);
    if (!this.clocks.has(k)) this.clocks.set(k, nowMs);
  }

  /** Restarts the agent's idle clock (a delivery or an accepted post). */
  restartClock(room: string, name: string, nowMs: number): void {
    this.clocks.set(key(room, name), nowMs);
  }

  clockStart(room: string, name: string): number | undefined {
    return this.clocks.get(key(room, name));
  }

  /**
   * Drops entries and clocks unseen for 24 h and flips `online` for entries that went quiet.
   * Returns the rooms whose roster changed (an agent went offline or was dropped).
   */
  sweep(nowMs: number): Set<string> {
    const changed = new Set<string>();
    for (const [k, e] of this.seen) {
      if (nowMs - e.seenMs > PRESENCE_TTL_MS) {
        this.seen.delete(k);
        changed.add(e.room);
      } else if (e.online && !this.isOnline(e, nowMs)) {
        e.online = false;
        changed.add(e.room);
      }
    }
    for (const [k, startMs] of this.clocks) {
      const e = this.seen.get(k);
      if (nowMs - (e ? Math.max(e.seenMs, startMs) : startMs) > PRESENCE_TTL_MS) this.clocks.delete(k);
    }
    return changed;
  }

  /** Sizes of the maps, for tests and stats. */
  sizes(): { presence: number; clocks: number } {
    return { presence: this.seen.size, clocks: this.clocks.size };
  }
}
