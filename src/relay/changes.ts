import type { Waiters } from "./waiters.ts";

/** Waiters key of the change feed; room names start with a letter or digit, so it cannot clash. */
export const CHANGES_KEY = "*changes";
/** Recent changes remembered (at least this many) for `rooms` in answers; older cursors get no room list. */
const HISTORY = 1024;

/**
 * The operator's change counter (SPEC §6.9): bumped after every committed change an operator
 * view shows, with the room it touched when there is one. Parked admin long-polls wake on it.
 */
export class ChangeFeed {
  private counter = 0;
  private readonly recent: { n: number; room: string | null }[] = [];

  constructor(private readonly waiters: Waiters) {}

  get cursor(): number {
    return this.counter;
  }

  bump(room: string | null = null): void {
    this.counter++;
    this.recent.push({ n: this.counter, room });
    // Trimmed in halves, not one shift per change: this runs on every post.
    if (this.recent.length >= 2 * HISTORY) this.recent.splice(0, HISTORY);
    this.waiters.bump(CHANGES_KEY);
  }

  /** Rooms touched after cursor `since`, sorted; empty when the history no longer reaches back. */
  roomsSince(since: number): string[] {
    const oldest = this.recent[0]?.n ?? this.counter + 1;
    if (since + 1 < oldest) return [];
    const rooms = new Set<string>();
    for (const c of this.recent) if (c.n > since && c.room !== null) rooms.add(c.room);
    return [...rooms].sort();
  }
}
