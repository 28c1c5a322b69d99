import type { PollBudget } from "./budget.ts";
import type { Agent, PollResult, ReadMessage, RoomStatus } from "./types.ts";
import type { Clock } from "./ports.ts";
import type { Waiters } from "./waiters.ts";

/** What a stream tells its client: a message, a change of the room's exit advice, or "still here". */
export type StreamEvent =
  | { kind: "message"; message: ReadMessage }
  | { kind: "room"; status: RoomStatus; budget: PollBudget }
  | { kind: "idle" };

/** The parts of the Relay a stream is built on (the same read and waiters as the poll). */
export interface FollowSource {
  read(agent: Agent, since: number, waitSeconds: number, signal?: AbortSignal): Promise<PollResult | null>;
  readonly waiters: Waiters;
  readonly isClosing: boolean;
  readonly clock: Clock;
  /** Whether the agent's code still holds; asked on a timer, never on a wake-up (no query per stream per post). */
  stillValid(): Promise<boolean>;
}

/** The advice a `room` event reports; a new event is sent whenever it changes. */
const adviceOf = (r: PollResult) => `${r.room.status}|${r.budget.shouldExit}|${r.budget.reason}`;
/** What a stream assumes before its first read: an open room with nothing to say about it. */
const QUIET = "open|false|null";

/**
 * Follows a room for one agent from `since`, with the poll's rule (SPEC §7.2, §7.5): read the
 * generation, take one snapshot with `read(…, 0)`, emit it, move the cursor to its `cursor`,
 * and park on the generation only when the snapshot had nothing new. So a message committed
 * while the stream catches up is in this snapshot or wakes the park; never skipped, never sent
 * twice. Yields `idle` when nothing was sent for `idleMs` (the heartbeat), after a fresh
 * re-read that also notices the idle valve. Every `idleMs`, on a timer, asks `stillValid` and
 * ends when the code no longer holds. Ends when the slot's signal aborts or the relay shuts
 * down, and then releases the slot.
 */
export async function* follow(source: FollowSource, agent: Agent, since: number, idleMs: number, slot: Slot): AsyncGenerator<StreamEvent> {
  const { signal } = slot;
  let cursor = since;
  let advice = QUIET;
  let sentMs = source.clock.now();
  let checkedMs = sentMs;
  let timedOut = false;
  try {
    while (!signal.aborted && !source.isClosing) {
      if (timedOut && source.clock.now() - checkedMs >= idleMs) {
        if (!(await source.stillValid()) || signal.aborted) return;
        checkedMs = source.clock.now();
      }
      const generation = source.waiters.generation(agent.room);
      const r = await source.read(agent, cursor, 0, signal);
      if (!r || signal.aborted) return;
      for (const message of r.messages) yield { kind: "message", message };
      cursor = r.cursor;
      let sent = r.messages.length > 0;
      if (adviceOf(r) !== advice) {
        advice = adviceOf(r);
        sent = true;
        yield { kind: "room", status: r.room, budget: r.budget };
      } else if (!sent && source.clock.now() - sentMs >= idleMs) {
        sent = true;
        yield { kind: "idle" };
      }
      // Only what was written resets the heartbeat: wake-ups that bring this agent nothing (DMs
      // between others) must not starve it.
      if (sent) sentMs = source.clock.now();
      if (source.isClosing) return;
      // The park also ends when the credential check is due, so a busy room cannot postpone it.
      const dueMs = Math.min(sentMs, checkedMs) + idleMs - source.clock.now();
      const how = await source.waiters.park(agent.room, generation, dueMs, signal);
      if (how === "aborted") return;
      timedOut = how === "timeout";
    }
  } finally {
    slot.end();
  }
}

/** A place among an agent's open streams (see StreamSlots). */
export interface Slot {
  signal: AbortSignal;
  end: () => void;
}

/**
 * Open streams per agent key, oldest first, bounded by `max` (0 = no cap): opening one more
 * aborts the oldest. A slot leaves the list as soon as its signal aborts (client gone,
 * evicted) or `end` is called, so a closed client frees its place at once. No I/O.
 */
export class StreamSlots {
  private readonly open = new Map<string, AbortController[]>();
  private total = 0;

  constructor(private readonly max: number) {}

  /** Takes a slot for `key`; its signal aborts when `outer` does or when a newer stream evicts it. */
  take(key: string, outer?: AbortSignal): Slot {
    const ctl = new AbortController();
    let list = this.open.get(key);
    if (!list) this.open.set(key, (list = []));
    list.push(ctl);
    this.total++;
    const end = () => {
      outer?.removeEventListener("abort", onOuter);
      const slots = this.open.get(key);
      const at = slots?.indexOf(ctl) ?? -1;
      if (at < 0) return;
      slots!.splice(at, 1);
      this.total--;
      if (slots!.length === 0) this.open.delete(key);
    };
    const onOuter = () => ctl.abort();
    ctl.signal.addEventListener("abort", end, { once: true });
    if (outer?.aborted) ctl.abort();
    else outer?.addEventListener("abort", onOuter, { once: true });
    if (this.max > 0) while (list.length > this.max) list[0]!.abort();
    return { signal: ctl.signal, end };
  }

  /** Open streams of `key`, or of every agent when no key is given. */
  count(key?: string): number {
    return key === undefined ? this.total : (this.open.get(key)?.length ?? 0);
  }

  /** Ends every open stream (shutdown). */
  abortAll(): void {
    for (const list of [...this.open.values()]) for (const ctl of [...list]) ctl.abort();
  }
}
