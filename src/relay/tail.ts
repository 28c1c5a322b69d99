import type { Message, RoomSnapshot, RoomStatus } from "./types.ts";

/** Messages kept in memory per room: enough for every woken poll that follows its cursor. */
export const TAIL_LENGTH = 256;
/** Total text kept across rooms before the least recently used rooms are dropped. */
export const TAIL_BUDGET_CHARS = 16 * 1024 * 1024;

interface Tail {
  /** Every retained message with seq > floor is in `messages`. */
  floor: number;
  highSeq: number;
  lastTsMs: number | null;
  status: RoomStatus;
  messages: Message[];
  chars: number;
  agentRun: number;
}

/** Whether `viewer` receives `m` on a poll (SPEC §7.3): not their own, and to all or to them. */
export function receives(m: Message, viewer: string): boolean {
  return m.from !== viewer && (m.to === "all" || m.to === viewer);
}

/**
 * Each room's recently committed messages and status, kept in commit order, so a broadcast that
 * wakes N parked polls is answered from memory instead of N queries (one consistent state per
 * read, as SPEC §7.2 requires). Filled from the store on a miss; updated by the relay after each
 * commit; `invalidate` drops a room whose state changed elsewhere.
 */
export class RoomTails {
  private readonly tails = new Map<string, Tail>();
  /** Bumped on every change to a room, cached or not, so a slow fill never installs stale data. */
  private readonly versions = new Map<string, number>();
  private chars = 0;
  /** Raised by invalidateAll; part of every room's version, so both parts only ever grow. */
  private epoch = 0;

  version(room: string): number {
    return this.epoch + (this.versions.get(room) ?? 0);
  }

  private touched(room: string): void {
    this.versions.set(room, (this.versions.get(room) ?? 0) + 1);
  }

  /** Installs a snapshot read by `store.readTail(room, TAIL_LENGTH)`, unless the room changed since `version`. */
  fill(room: string, snap: RoomSnapshot, version: number): void {
    if (this.version(room) !== version) return;
    this.drop(room);
    const complete = snap.messages.length < TAIL_LENGTH;
    const tail: Tail = {
      floor: complete ? 0 : snap.messages[0]!.seq - 1,
      highSeq: snap.highSeq,
      lastTsMs: snap.lastTsMs,
      status: snap.status,
      messages: snap.messages.slice(),
      agentRun: snap.agentRun,
      chars: snap.messages.reduce((n, m) => n + m.text.length, 0),
    };
    this.tails.set(room, tail);
    this.chars += tail.chars;
    this.evict();
  }

  /** Answers a poll from memory, or returns null when the room is not cached or `since` is below the floor. */
  read(room: string, since: number, viewer: string): RoomSnapshot | null {
    const tail = this.tails.get(room);
    if (!tail || since < tail.floor) return null;
    this.tails.delete(room);
    this.tails.set(room, tail); // most recently used last
    const messages: Message[] = [];
    for (let i = tail.messages.length - 1; i >= 0 && tail.messages[i]!.seq > since; i--) {
      const m = tail.messages[i]!;
      if (receives(m, viewer)) messages.push({ ...m });
    }
    messages.reverse();
    return { messages, highSeq: tail.highSeq, status: { ...tail.status }, lastTsMs: tail.lastTsMs, agentRun: tail.agentRun };
  }

  /** Records a committed message and the room's loop-guard run after it; `retention` > 0 drops what the store pruned. */
  append(m: Message, retention: number, agentRun: number): void {
    this.touched(m.room);
    const tail = this.tails.get(m.room);
    if (!tail) return;
    // Out of order, or a gap: another process committed seqs in between whose notification has
    // not arrived yet. Never guess: refill from the store on the next read (SPEC §7.2).
    if (m.seq !== tail.highSeq + 1) {
      this.drop(m.room);
      return;
    }
    tail.messages.push(m);
    tail.chars += m.text.length;
    this.chars += m.text.length;
    tail.highSeq = m.seq;
    tail.lastTsMs = m.tsMs;
    tail.agentRun = agentRun;
    const keepFrom = retention > 0 ? m.seq - retention : 0;
    while (tail.messages.length > TAIL_LENGTH || (tail.messages.length && tail.messages[0]!.seq <= keepFrom)) {
      const gone = tail.messages.shift()!;
      tail.chars -= gone.text.length;
      this.chars -= gone.text.length;
      if (gone.seq > keepFrom) tail.floor = gone.seq;
    }
    this.evict();
  }

  /** The cached status of a room, or null when the room is not cached. */
  statusOf(room: string): RoomStatus | null {
    const tail = this.tails.get(room);
    return tail ? { ...tail.status } : null;
  }

  setStatus(status: RoomStatus): void {
    this.touched(status.name);
    const tail = this.tails.get(status.name);
    if (tail) tail.status = { ...status };
  }

  setClaim(room: string, seq: number, claimedBy: string, leaseUntilMs: number | null): void {
    this.touched(room);
    const m = this.tails.get(room)?.messages.find((x) => x.seq === seq);
    if (m) {
      m.claimedBy = claimedBy;
      m.leaseUntilMs = leaseUntilMs;
      m.lapsedBy = null;
      m.lapse = null;
    }
  }

  /** The operator resumed the room: its loop-guard run starts again from 0. */
  resetAgentRun(room: string): void {
    this.touched(room);
    const tail = this.tails.get(room);
    if (tail) tail.agentRun = 0;
  }

  /** Forgets a room (its state changed in another process). */
  invalidate(room: string): void {
    this.touched(room);
    this.drop(room);
  }

  /** Forgets every room (notifications from other processes may have been lost). */
  invalidateAll(): void {
    this.epoch++;
    for (const room of [...this.tails.keys()]) this.drop(room);
  }

  private drop(room: string): void {
    const tail = this.tails.get(room);
    if (!tail) return;
    this.chars -= tail.chars;
    this.tails.delete(room);
  }

  private evict(): void {
    for (const room of this.tails.keys()) {
      if (this.chars <= TAIL_BUDGET_CHARS) return;
      this.drop(room);
    }
  }
}
